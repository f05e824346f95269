"""Who is asking: the authenticated subject of a request, independent of HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.identity.models import Role


@dataclass(frozen=True)
class Principal:
    account_id: int
    role: Role
    session: str  # the refresh-token family this access token belongs to
    station_id: int | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)

    @property
    def audit_actor(self) -> tuple[int, str]:
        return self.account_id, self.role.value

    def is_staff(self) -> bool:
        return self.role is not Role.CITIZEN
