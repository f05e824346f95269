"""Response models of e-vouchers and the terminals that verify them."""

from __future__ import annotations

from handlers.responses.base import Out
from handlers.responses.enrollment import PersonOut
from handlers.responses.filings import MyBenefitsChronicQualification, MyBenefitsRemoteCareFiling


class WhoamiInstitution(Out):
    code: str
    name: str
    city_code: str


class WhoamiOut(Out):
    key_id: str
    institution: WhoamiInstitution


class ReportUsesResultUseInstitution(Out):
    code: str
    name: str
    city_code: str


class ReportUsesResultUse(Out):
    id: int
    used_at: str
    institution: ReportUsesResultUseInstitution
    purpose: str
    purpose_name: str
    mode: str


class ReportUsesResultError(Out):
    code: str
    message: str


class ReportUsesResult(Out):
    index: int
    status: str
    duplicate: bool | None = None
    use: ReportUsesResultUse | None = None
    error: ReportUsesResultError | None = None


class ReportUsesOut(Out):
    results: list[ReportUsesResult]
    recorded: int
    conflict: int
    refused: int


class VerifyCodeInsurance(Out):
    type_code: str
    type_name: str
    year: int
    status: str
    status_name: str
    covered_today: bool


class VerifyCodeOut(Out):
    voucher_id: str
    family: bool
    person: PersonOut
    insurance: VerifyCodeInsurance
    chronic_qualifications: list[MyBenefitsChronicQualification]
    remote_care_filings: list[MyBenefitsRemoteCareFiling]
    use: ReportUsesResultUse


class VoucherJwksKey(Out):
    kty: str
    crv: str
    x: str
    y: str
    kid: str
    use: str
    alg: str


class VoucherJwksOut(Out):
    keys: list[VoucherJwksKey]


class VoucherOut(Out):
    id: str
    status: str
    family: bool
    person: PersonOut
    activated_at: str
    revoked_at: str | None


class ListVouchersOut(Out):
    items: list[VoucherOut]
    family_limit: int


class VoucherAlertsItemUse(Out):
    id: int
    used_at: str
    institution_code: str
    institution_name: str
    city_code: str
    terminal_key_id: str
    purpose: str
    mode: str


class VoucherAlertsItem(Out):
    id: int
    voucher_id: str
    created_at: str
    window_minutes: int
    person: PersonOut
    holder: PersonOut
    uses: list[VoucherAlertsItemUse]


class VoucherAlertsOut(Out):
    page: int
    size: int
    total: int
    items: list[VoucherAlertsItem]


class VoucherCodeQr(Out):
    version: int
    error_correction: str


class VoucherCodeOut(Out):
    voucher_id: str
    code: str
    kid: str
    issued_at: str
    expires_at: str
    ttl_s: int
    qr: VoucherCodeQr


class VoucherUsesOut(Out):
    voucher_id: str
    page: int
    size: int
    total: int
    items: list[ReportUsesResultUse]
