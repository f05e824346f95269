"""Everything an online verification answers, read fresh for a whole batch of verifications by
one query: ``verification_facts``; with it, when asked, each use's cross-city look-around
(``alerts.OTHER_CITY_LATEST``), so a batch needs one read after its commit.

A terminal's verification answers the voucher's state, the masked person, the person's insurance
status for the year and the special benefits that cover today. Through the ORM that is five or
six queries per verification, and building them costs more CPU than the database spends
answering; so on PostgreSQL this module reads them for every verification of a group-commit
batch (``backend.vouchers.use_log``) with ONE prepared statement, and elsewhere (SQLite, the
test suite) with four plain parameterised queries per verification.

Tables read: ``voucher``, ``person``, ``enrollment``, ``chronic_qualification`` and
``remote_care_filing``. The SQL
mirrors rules owned by other domains, and ``tests/integration/test_verification_lookup.py``
holds it to them:

- *enrolled* (``backend.enrollment.service.is_enrolled``): the person's enrollment row for the
  year has status ``enrolled``. The full status (``status_of``) is computed from the row read
  here by ``backend.enrollment.service.status_from``: this year's row status, and whether an
  *enrolled* row exists for the year before (a lapse once collection has closed).
- an *active* chronic qualification on a day (``backend.chronic.service.active_qualifications``):
  status ``active`` or ``renewed``, ``valid_from <= day`` and ``valid_to`` null or ``>= day``;
  ordered by disease code.
- an *active* remote-care filing on a day (``backend.filings.service.active_filings``):
  ``valid_from <= day`` and ``valid_to`` null or ``>= day``, whatever its status (ending a
  filing shortens its validity); ordered by ``valid_from``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from backend.chronic.models import QualificationStatus
from backend.enrollment.models import Enrollment, EnrollmentStatus
from backend.vouchers.alerts import OTHER_CITY_LATEST, other_city_use_id

# backend.chronic.entitlement.SPEC.covering: the qualification statuses that cover a day
COVERING_QUALIFICATIONS = (QualificationStatus.ACTIVE.value, QualificationStatus.RENEWED.value)
ENROLLED = EnrollmentStatus.ENROLLED.value


class FactsQuery(NamedTuple):
    voucher_id: str
    year: int
    day: date
    # The cross-city look-around of a use (all three, or none: not asked).
    since: datetime | None = None
    until: datetime | None = None
    city_code: str | None = None


class VerificationFacts(NamedTuple):
    voucher_id: str
    voucher_status: str
    person_id: int
    holder_id: int
    revoked_at: datetime | None
    person: dict[str, Any]  # the person row: id, name, id_number_enc, gender, birth_date
    enrollment_status: str | None  # this year's enrollment row, None: no row
    enrolled_year_before: bool
    chronic_qualifications: list[dict[str, Any]]  # as active_qualifications
    remote_care_filings: list[dict[str, Any]]  # as active_filings
    other_city_use_id: int | None = None  # the look-around's finding, when asked


_QUALIFICATION_JSON = (
    "json_build_object('serial', q.serial, 'disease_code', q.disease_code,"
    " 'disease_name', q.disease_name, 'category', q.disease_category,"
    " 'institutions', coalesce(q.institutions::jsonb, '[]'::jsonb),"
    " 'valid_from', q.valid_from, 'valid_to', q.valid_to)"
)
_FILING_JSON = (
    "json_build_object('serial', f.serial, 'filing_type', f.filing_type,"
    " 'type_name', f.type_name, 'category', f.category, 'province_code', f.province_code,"
    " 'city_code', f.city_code, 'valid_from', f.valid_from, 'valid_to', f.valid_to)"
)

# $1 voucher ids, $2 years, $3 days, $6 since, $7 until, $8 city codes (one element per query),
# $4 'enrolled', $5 covering qualification statuses; one row per query whose voucher exists, in
# order. No benefit at all is a NULL, not an empty JSON array: most persons have none, and the
# caller then parses nothing.
PG_SQL = (
    "SELECT x.n, v.id, v.status, v.person_id, v.holder_id, v.revoked_at,"
    " p.name, p.id_number_enc, p.gender, p.birth_date,"
    " (SELECT e.status FROM enrollment e WHERE e.person_id = v.person_id AND e.year = x.year)"
    " AS enrollment_status,"
    " EXISTS (SELECT 1 FROM enrollment e WHERE e.person_id = v.person_id"
    " AND e.year = x.year - 1 AND e.status = $4) AS enrolled_year_before,"
    f" (SELECT json_agg({_QUALIFICATION_JSON} ORDER BY q.disease_code)"
    " FROM chronic_qualification q WHERE q.person_id = v.person_id AND q.status = ANY($5)"
    " AND q.valid_from <= x.day AND (q.valid_to IS NULL OR q.valid_to >= x.day))"
    " AS qualifications,"
    f" (SELECT json_agg({_FILING_JSON} ORDER BY f.valid_from, f.id)"
    " FROM remote_care_filing f WHERE f.person_id = v.person_id"
    " AND f.valid_from <= x.day AND (f.valid_to IS NULL OR f.valid_to >= x.day)) AS filings,"
    f" {OTHER_CITY_LATEST} AS other_city_use_id"
    " FROM unnest($1::text[], $2::int[], $3::date[], $6::timestamptz[], $7::timestamptz[],"
    " $8::text[]) WITH ORDINALITY AS x(voucher_id, year, day, since, until, city_code, n)"
    " JOIN voucher v ON v.id = x.voucher_id JOIN person p ON p.id = v.person_id ORDER BY x.n"
)

_SQLITE_VOUCHER = (
    "SELECT v.id, v.status, v.person_id, v.holder_id, v.revoked_at,"
    " p.name, p.id_number_enc, p.gender, p.birth_date"
    " FROM voucher v JOIN person p ON p.id = v.person_id WHERE v.id = ?"
)

_SQLITE_ENROLLMENT = "SELECT year, status FROM enrollment WHERE person_id = ? AND year IN (?, ?)"
_SQLITE_QUALIFICATIONS = (
    "SELECT serial, disease_code, disease_name, disease_category, institutions,"
    " valid_from, valid_to FROM chronic_qualification"
    " WHERE person_id = ? AND status IN (?, ?) AND valid_from <= ?"
    " AND (valid_to IS NULL OR valid_to >= ?) ORDER BY disease_code"
)
_SQLITE_FILINGS = (
    "SELECT serial, filing_type, type_name, category, province_code, city_code,"
    " valid_from, valid_to FROM remote_care_filing"
    " WHERE person_id = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to >= ?)"
    " ORDER BY valid_from, id"
)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _json_list(value: Any) -> list[Any]:
    """A JSON array read from PostgreSQL; NULL (nothing aggregated) is the empty list."""
    return [] if value is None else _json(value)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _iso(value: Any) -> str | None:
    return None if value is None else _day(value).isoformat()


def _instant(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _facts(
    row: Any,
    enrollment_status: str | None,
    enrolled_year_before: bool,
    qualifications: list[dict[str, Any]],
    filings: list[dict[str, Any]],
    other_city_use_id: int | None,
) -> VerificationFacts:
    return VerificationFacts(
        voucher_id=row["id"],
        voucher_status=row["status"],
        person_id=row["person_id"],
        holder_id=row["holder_id"],
        revoked_at=_instant(row["revoked_at"]),
        person={
            "id": row["person_id"],
            "name": row["name"],
            "id_number_enc": row["id_number_enc"],
            "gender": row["gender"],
            "birth_date": _day(row["birth_date"]),
        },
        enrollment_status=enrollment_status,
        enrolled_year_before=bool(enrolled_year_before),
        chronic_qualifications=qualifications,
        remote_care_filings=filings,
        other_city_use_id=other_city_use_id,
    )


async def verification_facts(
    queries: Sequence[FactsQuery], pg: Any = None
) -> list[VerificationFacts | None]:
    """For each query: its voucher, the voucher's person, the person's enrollment for the year
    and the benefits covering the day; None when there is no such voucher. In order.
    ``pg``: an asyncpg connection to use (PostgreSQL); without it, the ORM's connection."""
    if not queries:
        return []
    conn = Enrollment._meta.db
    if pg is None and conn.capabilities.dialect == "postgres":
        async with conn.acquire_connection() as pg:
            return await verification_facts(queries, pg)
    if pg is None:
        return [await _portable(conn, q) for q in queries]
    rows = await pg.fetch(
        PG_SQL,
        [q.voucher_id for q in queries],
        [q.year for q in queries],
        [q.day for q in queries],
        ENROLLED,
        list(COVERING_QUALIFICATIONS),
        [q.since for q in queries],
        [q.until for q in queries],
        [q.city_code for q in queries],
    )
    found: list[VerificationFacts | None] = [None] * len(queries)
    for row in rows:  # by position: one voucher may be asked twice, with two look-arounds
        found[row["n"] - 1] = _facts(
            row,
            row["enrollment_status"],
            row["enrolled_year_before"],
            _json_list(row["qualifications"]),
            _json_list(row["filings"]),
            row["other_city_use_id"],
        )
    return found


async def _portable(conn: Any, query: FactsQuery) -> VerificationFacts | None:
    rows = await conn.execute_query_dict(_SQLITE_VOUCHER, [query.voucher_id])
    if not rows:
        return None
    row = rows[0]
    person_id, year = row["person_id"], query.year
    iso_day = query.day.isoformat()
    enrollments = await conn.execute_query_dict(_SQLITE_ENROLLMENT, [person_id, year, year - 1])
    by_year = {e["year"]: e["status"] for e in enrollments}
    qualifications = await conn.execute_query_dict(
        _SQLITE_QUALIFICATIONS, [person_id, *COVERING_QUALIFICATIONS, iso_day, iso_day]
    )
    filings = await conn.execute_query_dict(_SQLITE_FILINGS, [person_id, iso_day, iso_day])
    other = None
    if query.since is not None and query.until is not None and query.city_code is not None:
        other = await other_city_use_id(query.voucher_id, query.since, query.until, query.city_code)
    return _facts(
        row,
        by_year.get(year),
        by_year.get(year - 1) == ENROLLED,
        [
            {
                "serial": q["serial"],
                "disease_code": q["disease_code"],
                "disease_name": q["disease_name"],
                "category": q["disease_category"],
                "institutions": list(_json(q["institutions"]) or []),
                "valid_from": _iso(q["valid_from"]),
                "valid_to": _iso(q["valid_to"]),
            }
            for q in qualifications
        ],
        [
            {
                "serial": f["serial"],
                "filing_type": f["filing_type"],
                "type_name": f["type_name"],
                "category": str(f["category"]),
                "province_code": f["province_code"],
                "city_code": f["city_code"],
                "valid_from": _iso(f["valid_from"]),
                "valid_to": _iso(f["valid_to"]),
            }
            for f in filings
        ],
        other,
    )
