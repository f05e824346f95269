"""好差评: the applicant rates a finished case."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from backend.cases.access import actor_for, load_case
from backend.cases.engine import record_event
from backend.cases.models import Case
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.identity.principal import Principal
from workflows.definition import RATABLE_STATES


async def rate(
    c: Container, principal: Principal, case_id: int, *, score: int, comment: str
) -> Case:
    """1–5 with a comment, once, by the applicant, after the case is finished."""
    actor = await actor_for(principal)
    case = await load_case(actor, case_id)
    if actor.person_id is None or case.applicant_id != actor.person_id:
        raise Forbidden("只有申请人本人可以评价", code="NOT_YOUR_CASE")
    if not 1 <= score <= 5:
        raise InvalidInput("评分应为 1 到 5", code="RATING_INVALID")
    now = c.clock.now()
    async with in_transaction():
        done = await Case.filter(
            id=case.id, rating=None, state__in=[s.value for s in RATABLE_STATES]
        ).update(rating=score, rating_comment=comment[:300], rated_at=now)
        if done != 1:
            if case.rating is not None:
                raise Conflict("该办件已评价过", code="ALREADY_RATED")
            raise Conflict("办结后才能评价", code="NOT_RATABLE")
        await record_event(
            c, case, "rate", actor, source=case.state, target=case.state, data={"score": score}
        )
    return await Case.get(id=case.id)
