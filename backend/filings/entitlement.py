"""The remote-care filing as an entitlement: its spec for the shared template, its errors,
names and policy (the filing types, ``config/policy/remote_care.yaml``)."""

from __future__ import annotations

from datetime import date

from backend.container import Container
from backend.entitlements import template
from backend.entitlements.spec import EntitlementChanged, EntitlementNotFound, EntitlementSpec
from backend.errors import InvalidInput
from backend.filings.models import FilingStatus, RemoteCareFiling
from config.policy import FILING_PROOFS, RemoteCareFilingType, RemoteCarePolicy
from workflows.vocabulary import REMOTE_CARE_FILING

CATEGORY_NAMES = {"long_term": "异地长期居住人员", "temporary": "临时外出就医人员"}
STATUS_NAMES = {"active": "有效", "ended": "已终止"}


class FilingNotFound(EntitlementNotFound):
    code = "FILING_NOT_FOUND"
    message = "未找到该备案"


class FilingChanged(EntitlementChanged):
    code = "FILING_CHANGED"
    message = "备案已变更或已取消，请刷新后重试"


SPEC = EntitlementSpec(
    service=REMOTE_CARE_FILING,
    model=RemoteCareFiling,
    serial_prefix="YD",
    slot_field="category",
    slot_form_key="$category",
    proof_keys=FILING_PROOFS,
    active=FilingStatus.ACTIVE,
    lapsed=FilingStatus.ENDED,
    covering=None,  # ending a filing shortens its validity: the dates say what it covers
    covering_order="valid_from",
    policy_of=lambda policies: policies.remote_care,
    not_found=FilingNotFound,
    changed=FilingChanged,
    id_detail="filing_id",
    active_code="FILING_ALREADY_ACTIVE",
    active_message=lambda category: (
        f"您已有有效的{CATEGORY_NAMES[category]}备案，如需调整请办理备案变更"
    ),
    recorded_message=lambda category: f"已有有效的{CATEGORY_NAMES[category]}备案",
    in_progress_code="FILING_IN_PROGRESS",
    in_progress_message="您已有正在办理的同类备案申请，请等待办结或撤回后再申请",
)


def policy(c: Container, on: date | None = None) -> RemoteCarePolicy:
    pol: RemoteCarePolicy = template.policy(c, SPEC, on)
    return pol


def filing_type(pol: RemoteCarePolicy, code: str) -> RemoteCareFilingType:
    ftype = pol.types.get(code)
    if ftype is None:
        raise InvalidInput(
            "备案类型无效",
            code="FILING_TYPE_UNKNOWN",
            field="filing_type",
            allowed={k: t.name for k, t in pol.types.items()},
        )
    return ftype
