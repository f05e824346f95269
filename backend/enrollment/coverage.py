"""Whether a person was insured on a given day (待遇享受期), for claims and other benefits.

Resident insurance is bought per insurance year (the calendar year): a person is insured on a
day of year Y when their enrollment for Y is paid. A newborn enrolled within the newborn period
is insured from the day of birth, or from the day of payment when the premium policy of that
year says so (``newborn_covered_from_birth`` in ``config/policy/premium.yaml``). Nobody is
insured before they were born.
"""

from __future__ import annotations

from datetime import date

from backend.clock import CHINA_TZ
from backend.container import Container
from backend.enrollment.models import Enrollment, EnrollmentStatus
from backend.enrollment.service import PremiumNotPublished, premium_for
from backend.identity.models import Person


async def insured_on(c: Container, person: Person, day: date) -> bool:
    if day < person.birth_date:
        return False
    row = await Enrollment.get_or_none(
        person_id=person.id, year=day.year, status=EnrollmentStatus.ENROLLED
    )
    if row is None:
        return False
    try:
        from_birth = premium_for(c, day.year).newborn_covered_from_birth
    except PremiumNotPublished:
        from_birth = True
    if person.birth_date.year == day.year and not from_birth and row.enrolled_at is not None:
        return day >= row.enrolled_at.astimezone(CHINA_TZ).date()
    return True
