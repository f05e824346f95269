"""Response models: what each operation answers, as documented in the OpenAPI document.

Services answer with typed results (dataclasses, domain objects) or, where not yet converted,
dicts; ``@responds(Model)`` (``handlers.contract``) validates each answer through its model
(from attributes or keys) and sends the model's serialisation, so what is sent is exactly what
the document describes. Fields a service does not set stay absent.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel


class Out(BaseModel):
    """A response object. Keys the model does not name are not sent."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, from_attributes=True)


class DeactivateOut(Out):
    id: int
    is_active: bool


class LoginOut(Out):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    role: str
    bound: bool


class DevLoginCodeOut(Out):
    code: str


class RefreshOut(Out):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class CaseApplicant(Out):
    name: str


class CaseMaterial(Out):
    key: str
    name: str
    is_key: bool
    status: str


class CaseAuthorisation(Out):
    method: str
    status: str
    form_number: str | None
    form_ref: str | None
    decided_at: str | None


class CaseDocumentContent(Out):
    case_number: str
    service: str
    applicant: str
    outcome: str
    details: dict[str, Any]
    reason: str


class CaseDocument(Out):
    title: str
    outcome: str
    verification_code: str
    delivery_method: str
    issued_at: str
    content: CaseDocumentContent


class CaseRating(Out):
    score: int
    comment: str
    at: str


class TaskOut(Out):
    id: int
    case_id: int
    level: int
    category: str
    status: str
    service_code: str
    station_id: int | None
    due_at: str
    escalated: bool
    holder_id: int | None
    claimed_at: str | None


class CaseSummary(Out):
    id: int
    number: str
    service_code: str
    service_name: str
    definition_version: int
    state: str
    state_label: str
    version: int
    channel: str
    station_id: int | None
    submitted_at: str | None
    due_at: str | None
    sla: str | None
    completed_at: str | None
    outcome: str | None


class CaseOut(CaseSummary):
    category: str
    applicant: CaseApplicant
    assisted: bool
    agent_name: str
    form: dict[str, Any]
    amount: str | None
    materials: list[CaseMaterial]
    open_gaps: int
    tolerance_due_at: str | None
    review_level: int
    required_levels: int
    reason_code: str | None
    reason_text: str | None
    delivery_method: str
    authorisation: CaseAuthorisation | None
    document: CaseDocument | None
    rating: CaseRating | None
    tasks: list[TaskOut]


class CaseStatsOverall(Out):
    """Counts, and rates and averages (null when there is nothing to average)."""

    cases: int
    app_cases: int
    app_share: float | None
    completed: int  # issued only
    ended_without_issue: int  # withdrawn, not accepted, rejected, closed
    on_time_rate: float | None
    late_completed: int
    overdue_open: int
    avg_handling_hours: float | None
    avg_limit_hours: float | None
    ratings: int
    avg_rating: float | None
    satisfaction_rate: float | None


class CaseStatsGroup(CaseStatsOverall):
    key: str | int | None  # a channel, service or period; a station id (none: the app)


class CaseStatsOut(Out):
    from_: str = Field(alias="from")
    to: str
    overall: CaseStatsOverall
    # only when grouped
    group_by: str | None = None
    groups: list[CaseStatsGroup] = Field(default_factory=list)
    period: str | None = None


class CaseTimelineItem(Out):
    at: str
    action: str
    from_: str | None = Field(alias="from")
    to: str
    text: str | None
    actor_id: int | None = None
    actor_role: str | None = None
    reason_code: str | None = None
    reason_text: str | None = None


class CaseTimelineOut(Out):
    items: list[CaseTimelineItem]


class QueueTask(TaskOut):
    case: CaseSummary


class EscalationsOut(Out):
    total: int
    items: list[QueueTask]


class MyInboxItem(Out):
    id: int
    case_id: int | None
    title: str
    body: str
    created_at: str
    read: bool


class MyInboxOut(Out):
    total: int
    unread: int
    items: list[MyInboxItem]


class MyPendingAuthorisationsOut(Out):
    items: list[CaseSummary]


class ReadMessageOut(Out):
    read: bool


class ReviewQueueOut(Out):
    items: list[QueueTask]
    page: int
    size: int
    total: int
    total_exact: bool


class CaseListOut(Out):
    total: int
    items: list[CaseSummary]


class VerifyDocumentOut(Out):
    valid: bool
    title: str
    outcome: str
    verification_code: str
    delivery_method: str
    issued_at: str
    content: CaseDocumentContent


class QualificationOut(Out):
    id: int
    serial: str
    case_id: int
    disease_code: str
    disease_name: str
    category: str
    category_name: str
    fast_track: bool
    institutions: list[str]
    valid_from: date
    valid_to: date | None
    status: str
    status_name: str
    renewal_opens_on: date | None
    end_reason: str | None
    version: int


class ApplyOut(Out):
    case: CaseOut
    qualification: QualificationOut | None


class ApplyAssistedOut(Out):
    case: CaseOut
    qualification: QualificationOut | None


class DiseasesItemCriteria(Out):
    code: str
    text: str


class DiseasesItem(Out):
    code: str
    name: str
    category: str
    category_name: str
    evidence: list[str]
    criteria: list[DiseasesItemCriteria]
    fast_track: bool
    validity_years: int | None
    institutions: int


class DiseasesOut(Out):
    items: list[DiseasesItem]


class MyQualificationsOut(Out):
    items: list[QualificationOut]


class RenewOut(Out):
    case: CaseOut
    qualification: QualificationOut | None


class TaskCriteriaCriteria(Out):
    code: str
    text: str


class TaskCriteriaVerdict(Out):
    level: int
    criterion: str
    met: bool
    note: str | None


class TaskCriteriaOut(Out):
    task_id: int
    case_id: int
    disease_code: str
    disease_name: str
    criteria: list[TaskCriteriaCriteria]
    verdicts: list[TaskCriteriaVerdict]


class ClaimReviewInsured(Out):
    name: str
    person_id: int


class ClaimReviewCase(Out):
    id: int
    state: str
    version: int
    review_level: int
    required_levels: int


class ClaimReviewInvoiceFlag(Out):
    code: str
    message: str
    blocking: bool


class ClaimReviewInvoice(Out):
    id: int
    seq: int
    image_url: str
    width: int
    height: int
    content_type: str
    ocr_status: str
    ocr_attempts: int
    ocr_error: str | None
    proposal: dict[str, Any]
    confirmed: dict[str, Any] | None
    confirmed_by: int | None
    confirmed_at: str | None
    corrected_fields: list[str]
    flags: list[ClaimReviewInvoiceFlag]


class SettlementItem(Out):
    """One item line of an invoice, classed against the catalogue (backend.claims.catalogue)."""

    name: str
    amount_fen: int
    code: str | None
    item_class: str | None  # jia, yi, bing; null: not in the catalogue
    class_label: str | None
    source: str
    source_label: str
    self_pay_ratio: str | None  # 乙类 only, a decimal as text
    self_pay_fen: int
    eligible_fen: int


class SettlementInvoice(Out):
    """One invoice's settlement (backend.claims.settlement.InvoiceSettlement)."""

    label: str
    in_range_fen: int
    eligible_fen: int
    deductible_fen: int
    ratio: str  # a decimal as text, e.g. "0.6"
    payable_fen: int
    items: list[SettlementItem]
    basic_fen: int
    catastrophic_fen: int
    assistance_fen: int
    year: int
    lines: list[str]


class SettlementScheme(Out):
    """What one scheme pays: basic insurance, catastrophic insurance, medical assistance."""

    scheme: str  # basic | catastrophic | assistance
    name: str
    amount_fen: int
    amount: str
    rule: str


class SettlementYear(Out):
    """One person's year (fen): the policy-range amount and each scheme's payments."""

    in_range_fen: int
    basic_paid_fen: int
    catastrophic_base_fen: int
    catastrophic_paid_fen: int
    assistance_paid_fen: int


class SettlementOut(Out):
    """A claim's settlement and its explanation (backend.claims.settlement.Settlement)."""

    invoices: list[SettlementInvoice]
    schemes: list[SettlementScheme]
    payable_fen: int
    payable: str
    unresolved_items: list[str]
    accumulated_before: dict[str, SettlementYear]  # by year
    increments: dict[str, SettlementYear]  # by year: what this claim adds
    lines: list[str]
    policy_effective_from: str


class ClaimReviewOut(Out):
    id: int
    number: str
    status: str
    insured: ClaimReviewInsured
    case: ClaimReviewCase
    invoices: list[ClaimReviewInvoice]
    calculation: SettlementOut | None  # the last settlement, null before it can be made
    open_items: list[str]


class ClaimInsured(Out):
    name: str


class ClaimCase(Out):
    id: int
    number: str
    state: str
    version: int


class ClaimInvoiceRecognised(Out):
    invoice_code: str | None
    invoice_number: str | None
    issue_date: str | None
    hospital_name: str | None
    visit_type: str | None
    total_amount: str | None


class ClaimInvoice(Out):
    id: int
    seq: int
    content_type: str
    ocr_status: str
    confirmed: bool
    recognised: ClaimInvoiceRecognised
    notices: list[str]


class DisbursementOut(Out):
    id: int
    amount: str
    amount_fen: int
    status: str
    due_date: str
    overdue: bool
    bank_name: str
    bank_account: str
    paid_at: str | None
    explanation: list[str]


class ClaimOut(Out):
    id: int
    number: str
    status: str
    version: int
    channel: str
    insured: ClaimInsured
    case: ClaimCase | None
    invoices: list[ClaimInvoice]
    bank_name: str | None
    bank_account: str | None
    payout_frozen: bool  # the bank account is held for review after a reclaim
    payable: str | None
    explanation: list[str]
    schemes: list[SettlementScheme]  # what each scheme pays, once approved
    payout: DisbursementOut | None
    submitted_at: str | None
    created_at: str


class MyClaimsOut(Out):
    items: list[ClaimOut]


class OcrStatsField(Out):
    field: str
    reviewed: int
    corrected: int
    correction_rate: str | None


class OcrStatsOut(Out):
    fields: list[OcrStatsField]
    manual_entries: int


class UploadInvoiceOut(Out):
    invoice_id: int
    claim: ClaimOut


class CollectionPeriod(Out):
    start: str
    end: str


class PersonOut(Out):
    id: int
    name: str
    id_number: str
    gender: str
    birth_date: str


class EnrollmentPaid(Out):
    contribution_fen: int
    subsidy_fen: int
    due_fen: int
    channel: str


class EnrollmentQuote(Out):
    year: int
    contribution_fen: int
    subsidy_category: str | None
    subsidy_category_name: str | None
    subsidy_fen: int
    due_fen: int
    due_yuan: str


class EnrollmentStatusOut(Out):
    person: PersonOut
    year: int
    status: str
    order_id: int | None
    enrolled_at: str | None
    paid: EnrollmentPaid | None = None
    quote: EnrollmentQuote | None = None


class MyStatusOut(Out):
    year: int
    collection_period: CollectionPeriod | None  # none published for that year
    items: list[EnrollmentStatusOut]


class SetCategoryOut(Out):
    person_id: int
    category: str | None  # null: the category ended


class FamilyMemberOut(Out):
    id: int
    relation: str
    consent_status: str
    consent_via: str | None
    consented_at: str | None
    created_at: str
    is_minor: bool
    member: PersonOut


class GrantConsentOut(Out):
    id: int
    relation: str
    consent_status: str
    consent_via: str | None
    consented_at: str | None
    created_at: str
    requester: PersonOut


class ListConsentsOut(Out):
    items: list[GrantConsentOut]


class ListFamilyOut(Out):
    items: list[FamilyMemberOut]
    count: int
    max_members: int


class FilingOut(Out):
    id: int
    serial: str
    case_id: int
    filing_type: str
    type_name: str
    category: str
    category_name: str
    province_code: str
    city_code: str
    destination_hospital: str | None
    commitment: bool
    retroactive: bool
    start_date: date
    valid_from: date
    valid_to: date | None
    status: str
    status_name: str
    end_reason: str | None
    change_opens_on: date | None
    replaces_id: int | None
    version: int


class ChangeFilingOut(Out):
    case: CaseOut
    filing: FilingOut


class FileOut(Out):
    case: CaseOut
    filing: FilingOut | None


class FileAssistedOut(Out):
    case: CaseOut
    filing: FilingOut | None


class FilingEffectOut(Out):
    out_of_region: bool
    filed: bool
    ratio_adjustment: str
    note: str
    filing_id: int
    filing_serial: str
    filing_type: str
    filing_type_name: str
    category: str


class FilingTypesItem(Out):
    code: str
    name: str
    category: str
    category_name: str
    proofs: list[str]
    commitment: str
    instant: bool
    requires_hospital: bool
    validity_days: int | None
    min_days_before_change: int
    retroactive_days: int
    ratio_adjustment: str


class FilingTypesOut(Out):
    items: list[FilingTypesItem]


class MyBenefitsChronicQualification(Out):
    serial: str
    disease_code: str
    disease_name: str
    category: str
    institutions: list[str]
    valid_from: date
    valid_to: date | None  # null: long-term


class MyBenefitsRemoteCareFiling(Out):
    serial: str
    filing_type: str
    type_name: str
    category: str
    province_code: str
    city_code: str
    valid_from: date
    valid_to: date | None


class MyBenefitsOut(Out):
    chronic_qualifications: list[MyBenefitsChronicQualification]
    remote_care_filings: list[MyBenefitsRemoteCareFiling]


class MyFilingsOut(Out):
    items: list[FilingOut]


class HealthzOut(Out):
    status: str


class ReadyzOut(Out):
    status: str
    checks: dict[str, Any]


class ProfileStation(Out):
    id: int
    code: str
    name: str
    level: str


class ProfileOut(Out):
    id: int
    role: str
    display_name: str
    username: str | None
    bound: bool
    person: PersonOut | None
    phone: str | None
    station: ProfileStation | None
    categories: list[str]


class OrderItem(Out):
    person: PersonOut
    contribution_fen: int
    subsidy_category: str | None
    subsidy_fen: int
    due_fen: int
    refunded: bool


class OrderPayment(Out):
    method: str
    pay_params: dict[str, Any] | None = None
    code_url: str | None = None


class EnrolledWithoutPayment(Out):
    person: PersonOut
    year: int
    status: str
    order_id: int | None
    enrolled_at: str
    paid: EnrollmentPaid


class OrderReceipt(Out):
    number: str
    verification_code: str
    voided: bool


class OrderOut(Out):
    id: int
    out_trade_no: str
    year: int
    status: str
    total_fen: int
    total_yuan: str
    refunded_fen: int
    channel: str
    created_at: str
    expires_at: str
    paid_at: str | None
    items: list[OrderItem]
    payment: OrderPayment | None
    receipt: OrderReceipt | None
    # only in the answer that creates the order
    enrolled_without_payment: list[EnrolledWithoutPayment] | None = None
    needs_review: bool | None = None
    review_reason: str | None = None


class EnrolledWithoutOrderOut(Out):
    """Everyone asked for is fully subsidised (特困 and the like): enrolled, nothing to pay."""

    order: None
    enrolled_without_payment: list[EnrolledWithoutPayment]


class CreatedOrderOut(RootModel[OrderOut | EnrolledWithoutOrderOut]):
    """The new order, or, when nobody has anything to pay, no order at all."""


class GetReceiptItem(Out):
    name: str
    id_number: str
    contribution_fen: int
    subsidy_fen: int
    due_fen: int
    refunded: bool


class RefundOrderOut(Out):
    id: int
    out_refund_no: str
    order_id: int
    amount_fen: int
    reason: str
    status: str
    attempts: int
    created_at: str
    succeeded_at: str | None


class VerifyReceiptOut(Out):
    number: str
    title: str
    year: int
    status: str
    total_fen: int
    total_yuan: str
    refunded_fen: int
    paid_at: str
    issued_at: str
    transaction_id: str
    items: list[GetReceiptItem]


class GetReceiptOut(VerifyReceiptOut):
    verification_code: str


class WechatNotifyOut(Out):
    code: str
    message: str


class CitizenLookupOut(Out):
    person: PersonOut
    has_account: bool
    family: list[Any]


class GetAuthorisationOut(Out):
    id: int
    station_id: int
    clerk_id: int
    purpose: str
    form_number: str
    note: str
    created_at: str
    grantor: PersonOut
    grantee: PersonOut


class ListAuthorisationsOut(Out):
    items: list[GetAuthorisationOut]
    total: int
    limit: int
    offset: int


class RecordAuthorisationOut(GetAuthorisationOut):
    """The recorded form, with the family link it created (family consent only)."""

    family_link_id: int | None


class StationDelegatedItem(Out):
    code: str
    name: str


class StationOut(Out):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    delegated_items: list[StationDelegatedItem]
    children: list[StationOut] = Field(default_factory=list)  # absent on the leaves


class StationTreeServiceItem(Out):
    code: str
    name: str


class StationTreeOut(Out):
    items: list[StationOut]
    service_items: list[StationTreeServiceItem]


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


class ServiceFieldOut(Out):
    name: str
    label: str
    type: str
    required: bool
    when: Any = None
    choices: list[str]


class ServiceMaterialOut(Out):
    key: str
    name: str
    is_key: bool
    when: Any = None


class ServiceOut(Out):
    code: str
    version: int
    name: str
    category: str
    channels: list[str]
    fields: list[ServiceFieldOut]
    materials: list[ServiceMaterialOut]
    instant_rule: Any = None
    deliveries: list[str]
    tolerance: bool


class ServiceListOut(Out):
    items: list[ServiceOut]


class OrderListOut(Out):
    items: list[OrderOut]


class SettlementPreviewOut(Out):
    settlement: SettlementOut | None


class CatalogueEntry(Out):
    """A catalogue entry as backend.claims.assessment shows it."""

    code: str
    name: str
    kind: str
    item_class: str
    class_label: str
    self_pay_ratio: str | None  # 乙类 only


class CatalogueSearchOut(Out):
    effective_from: str
    items: list[CatalogueEntry]


class DevFaceVerifyOut(Out):
    verify_id: str
    finished: bool


class FaceVerificationOut(Out):
    verify_id: str = Field(description="传给 wx.requestFacialVerify 的人脸核身会话标识")
    expires_in: int = Field(description="会话有效期（秒）")


class StationCodeOut(Out):
    code: str = Field(description="8 位一次性绑定码，出示给服务站工作人员")
    expires_in: int = Field(description="有效期（秒）")


class StationBindingOut(Out):
    account_id: int
    person: PersonOut
    method: str
    station_id: int
    clerk_id: int
    bound_at: str


class GuardianshipCheckOut(Out):
    link_id: int
    decision: str
    consent_status: str | None  # null: the link was removed
    station_id: int
    clerk_id: int
    checked_at: str


class GuardianshipObjectionOut(Out):
    id: int
    consent_status: str


class MyAuthorisationGrantee(Out):
    name: str  # masked


class MyAuthorisationOut(Out):
    id: int
    purpose: str
    form_number: str
    station_id: int
    grantee: MyAuthorisationGrantee
    created_at: str | None
    withdrawn_at: str | None


class MyAuthorisationsOut(Out):
    items: list[MyAuthorisationOut]


class CategoryChangeOut(Out):
    id: int
    person: PersonOut
    category: str | None  # null: the change ends the current category
    valid_from: str
    valid_to: str | None
    evidence_number: str
    evidence_type: str
    note: str
    status: str
    proposed_by: int
    proposed_at: str
    decided_by: int | None
    decided_at: str | None
    decision_note: str


class CategoryDecisionOut(CategoryChangeOut):
    current_category: str | None


class CategoryChangesOut(Out):
    items: list[CategoryChangeOut]


class IdentityAlertOut(Out):
    id: int
    kind: str
    person: PersonOut
    previous_account_id: int | None
    account_id: int
    frozen_claim_ids: list[int]
    created_at: str


class IdentityAlertsOut(Out):
    items: list[IdentityAlertOut]


class FrozenPayoutOut(Out):
    claim_id: int
    claim_number: str
    claim_status: str
    person: PersonOut
    set_by_account_id: int  # the account that entered the bank account
    bank_name: str
    bank_account: str
    frozen_at: str | None  # null once released
    payout: DisbursementOut | None


class FrozenPayoutsOut(Out):
    items: list[FrozenPayoutOut]
