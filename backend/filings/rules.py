"""What a remote-care filing application must satisfy before a case exists: its destination
and its filing type's rules (start date, hospital, commitment), and the facts the
``remote_care_filing`` definition's conditions read (proofs needed, 即受即办 or review)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from backend.entitlements import template
from backend.errors import InvalidInput
from backend.filings.entitlement import SPEC, filing_type
from config.policy import RemoteCareFilingType, RemoteCarePolicy, is_city_code, is_province_code


def check_destination(pol: RemoteCarePolicy, province_code: str, city_code: str) -> None:
    """6-digit administrative codes of the right level, the city inside the province, and not
    the insured city itself."""
    if not is_province_code(province_code):
        raise InvalidInput(
            "就医地省份代码应为6位省级行政区划代码，如 440000",
            code="DESTINATION_INVALID",
            field="province_code",
        )
    if not is_city_code(city_code):
        raise InvalidInput(
            "就医地城市代码应为6位地市级行政区划代码，如 440300",
            code="DESTINATION_INVALID",
            field="city_code",
        )
    if city_code[:2] != province_code[:2]:
        raise InvalidInput(
            "就医地城市不属于所选省份", code="DESTINATION_MISMATCH", field="city_code"
        )
    home = pol.home_city_code
    if city_code[:4] == home[:4]:
        raise InvalidInput(
            "就医地为参保地，无需办理异地就医备案", code="DESTINATION_IS_HOME", field="city_code"
        )
    if pol.province_wide_settlement and city_code[:2] == home[:2]:
        raise InvalidInput(
            "省内异地就医无需备案，可直接结算", code="FILING_NOT_NEEDED", field="city_code"
        )


@dataclass(frozen=True)
class FilingRequest:
    filing_type: str
    province_code: str
    city_code: str
    start_date: date
    destination_hospital: str = ""
    diagnosis: str = ""
    use_commitment: bool = False
    contact_phone: str | None = None
    note: str = ""
    materials: list[Mapping[str, str]] = field(default_factory=list)
    delivery_method: str | None = None

    def form(self, *, replaces: int | None = None, reason: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            "filing_type": self.filing_type,
            "province_code": self.province_code,
            "city_code": self.city_code,
            "start_date": self.start_date.isoformat(),
            "use_commitment": "yes" if self.use_commitment else "no",
        }
        for name in ("destination_hospital", "diagnosis", "contact_phone", "note"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if replaces is not None:
            out["replaces_filing"] = str(replaces)
            out["change_reason"] = reason
        return out


def _check_start(
    pol: RemoteCarePolicy, ftype: RemoteCareFilingType, start: date, today: date, change: bool
) -> None:
    """Not after the furthest start allowed; before today only as a 补备案 of a type that
    allows it (never for a change)."""
    if start < today:
        if change:
            raise InvalidInput(
                "变更后的备案开始日期不能早于今天", code="START_DATE_INVALID", field="start_date"
            )
        if ftype.retroactive_days == 0:
            raise InvalidInput(
                f"{ftype.name}不能补办备案，开始日期不能早于今天",
                code="RETROACTIVE_NOT_ALLOWED",
                field="start_date",
            )
        if (today - start).days > ftype.retroactive_days:
            raise InvalidInput(
                f"{ftype.name}补备案的开始日期最早为{today - timedelta(ftype.retroactive_days)}",
                code="START_DATE_TOO_EARLY",
                field="start_date",
            )
    if (start - today).days > pol.max_start_days_ahead:
        raise InvalidInput(
            f"备案开始日期最晚为{today + timedelta(pol.max_start_days_ahead)}",
            code="START_DATE_TOO_LATE",
            field="start_date",
        )


def derive(
    pol: RemoteCarePolicy, req: FilingRequest, today: date, *, change: bool = False
) -> dict[str, Any]:
    """Check the request against its filing type; the facts the definition reads."""
    ftype = filing_type(pol, req.filing_type)
    check_destination(pol, req.province_code, req.city_code)
    _check_start(pol, ftype, req.start_date, today, change)
    if ftype.requires_hospital and not req.destination_hospital.strip():
        raise InvalidInput(
            f"{ftype.name}须填写转入的就医医院",
            code="HOSPITAL_REQUIRED",
            field="destination_hospital",
        )
    if req.use_commitment and ftype.commitment == "none":
        raise InvalidInput(
            f"{ftype.name}不适用承诺制，请提交证明材料",
            code="COMMITMENT_NOT_ALLOWED",
            field="use_commitment",
        )
    commit = ftype.commitment == "required" or (
        ftype.commitment == "may_replace" and req.use_commitment
    )
    derived = template.proof_facts(SPEC, () if commit else ftype.proofs)
    derived["$need_commitment_letter"] = commit
    derived["$instant"] = not ftype.review
    derived["$category"] = ftype.category
    return derived
