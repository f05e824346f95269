"""The citizen's inbox: the messages the engine writes at each step of their cases."""

from __future__ import annotations

from tortoise.expressions import Q

from backend.cases.access import Actor, actor_for
from backend.cases.lists import Page
from backend.cases.models import InboxMessage
from backend.cases.results import Inbox, InboxItem
from backend.clock import iso
from backend.container import Container
from backend.errors import NotFound
from backend.identity.principal import Principal


def inbox_of(actor: Actor) -> Q:
    """The caller's messages: their person's, and those addressed to their account."""
    mine = Q(account_id=actor.id)
    return mine | Q(person_id=actor.person_id) if actor.person_id is not None else mine


async def inbox(actor: Actor, page: Page) -> Inbox:
    query = InboxMessage.filter(inbox_of(actor))
    rows = await query.order_by("-id").offset(page.offset).limit(page.size)
    return Inbox(
        total=await query.count(),
        unread=await query.filter(read_at=None).count(),
        items=[
            InboxItem(
                id=m.id,
                case_id=m.case_id,
                title=m.title,
                body=m.body,
                created_at=iso(m.created_at),
                read=m.read_at is not None,
            )
            for m in rows
        ],
    )


async def mark_read(c: Container, principal: Principal, message_id: int) -> None:
    actor = await actor_for(principal)
    done = await InboxMessage.filter(inbox_of(actor), id=message_id).update(read_at=c.clock.now())
    if not done:
        raise NotFound("未找到该消息", code="MESSAGE_NOT_FOUND")
