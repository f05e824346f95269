"""What every entitlement record answers, whatever its type: the part of a chronic-disease
qualification or a remote-care filing that is the same for both. Each domain's result adds its
own fields (``backend/chronic/results.py``, ``backend/filings/results.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from backend.entitlements.spec import Held
from backend.entitlements.template import Standing


@dataclass(frozen=True)
class Holding:
    """A record as its holder sees it today: its validity and its standing."""

    id: int
    serial: str
    case_id: int
    category: str
    category_name: str
    valid_from: date
    valid_to: date | None
    status: str
    status_name: str
    end_reason: str | None
    version: int


def holding_of(
    row: Held,
    standing: Standing,
    *,
    category: str,
    category_name: str,
    status_names: Mapping[str, str],
) -> Holding:
    """The common part of a record's result; a domain's result adds its own fields to it."""
    return Holding(
        id=row.id,
        serial=row.serial,
        case_id=row.case_id,
        category=category,
        category_name=category_name,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        status=standing.status,
        status_name=status_names[standing.status],
        end_reason=standing.end_reason or None,
        version=row.version,
    )


@dataclass(frozen=True)
class Covering:
    """A record covering today: what the e-voucher answer and the citizen's benefits show."""

    serial: str
    category: str
    valid_from: date
    valid_to: date | None


def covering_of(row: Held, category: str) -> Covering:
    return Covering(row.serial, category, row.valid_from, row.valid_to)
