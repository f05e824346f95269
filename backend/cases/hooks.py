"""What a service's own domain adds to the engine: readiness, an after-transition step and
ownership of the service's cases. Each domain registers its hooks with :func:`register`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from backend.cases.access import Actor
from backend.cases.models import Case
from backend.container import Container
from workflows.definition import Definition


@dataclass(frozen=True)
class ServiceHooks:
    """The hooks of one service.

    - ``readiness(c, case)``: the open items that block the transitions guarded by
      ``service_ready`` (e.g. invoices not yet confirmed); an empty list when ready.
    - ``after_transition(c, case, transition_name, actor)``: runs inside the transaction of
      every transition of the service's cases (e.g. create the payout on approval).
    - ``owner``: cases of the service are created only by that domain (``NewCase.origin``),
      not directly through ``POST /cases``.
    """

    readiness: Callable[[Container, Case], Awaitable[list[str]]] | None = None
    after_transition: Callable[[Container, Case, str, Actor], Awaitable[None]] | None = None
    owner: str | None = None


_REGISTERED: dict[str, ServiceHooks] = {}


def register(service_code: str, hooks: ServiceHooks) -> None:
    """Attach ``hooks`` to the service ``service_code`` (a later registration replaces it)."""
    _REGISTERED[service_code] = hooks


def lookup(service_code: str) -> ServiceHooks | None:
    """The service's hooks, or None when its domain registered none."""
    return _REGISTERED.get(service_code)


def owners() -> Mapping[str, str | None]:
    """Every service with hooks, and the domain that owns its cases (None: no owner)."""
    return {code: hooks.owner for code, hooks in _REGISTERED.items()}


def owner_of(service_code: str) -> str | None:
    hooks = _REGISTERED.get(service_code)
    return hooks.owner if hooks is not None else None


async def blockers(c: Container, case: Case, defn: Definition) -> tuple[str, ...]:
    """What keeps the transitions guarded by ``service_ready`` from firing, by the domain."""
    if not any("service_ready" in t.guards for t in defn.transitions):
        return ()
    hooks = _REGISTERED.get(case.service_code)
    if hooks is None or hooks.readiness is None:  # fail closed: nobody vouched for readiness
        return ("SERVICE_HOOKS_MISSING",)
    return tuple(await hooks.readiness(c, case))


async def after_transition(c: Container, case: Case, transition_name: str, actor: Actor) -> None:
    """Run the service's after-transition hook, if it has one (inside the transition's
    transaction)."""
    hooks = _REGISTERED.get(case.service_code)
    if hooks is not None and hooks.after_transition is not None:
        await hooks.after_transition(c, case, transition_name, actor)
