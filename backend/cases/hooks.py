"""What a service's own domain adds to the engine: readiness, an after-transition step and
ownership of the service's cases.

Each domain that adds to the engine has a ``register_hooks(hooks)`` function;
``backend.bootstrap`` calls them on the container's :class:`ServiceHookRegistry`. Importing a
domain registers nothing."""

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


class ServiceHookRegistry:
    """The hooks of every service that has some, by service code (``Container.hooks``)."""

    def __init__(self) -> None:
        self._by_service: dict[str, ServiceHooks] = {}

    def register(self, service_code: str, hooks: ServiceHooks) -> None:
        """Attach ``hooks`` to the service ``service_code`` (a later registration replaces
        it)."""
        self._by_service[service_code] = hooks

    def lookup(self, service_code: str) -> ServiceHooks | None:
        """The service's hooks, or None when its domain registered none."""
        return self._by_service.get(service_code)

    def owners(self) -> Mapping[str, str | None]:
        """Every service with hooks, and the domain that owns its cases (None: no owner)."""
        return {code: hooks.owner for code, hooks in self._by_service.items()}

    def owner_of(self, service_code: str) -> str | None:
        hooks = self._by_service.get(service_code)
        return hooks.owner if hooks is not None else None


async def blockers(c: Container, case: Case, defn: Definition) -> tuple[str, ...]:
    """What keeps the transitions guarded by ``service_ready`` from firing, by the domain."""
    if not any("service_ready" in t.guards for t in defn.transitions):
        return ()
    hooks = c.hooks.lookup(case.service_code)
    if hooks is None or hooks.readiness is None:  # fail closed: nobody vouched for readiness
        return ("SERVICE_HOOKS_MISSING",)
    return tuple(await hooks.readiness(c, case))


async def after_transition(c: Container, case: Case, transition_name: str, actor: Actor) -> None:
    """Run the service's after-transition hook, if it has one (inside the transition's
    transaction)."""
    hooks = c.hooks.lookup(case.service_code)
    if hooks is not None and hooks.after_transition is not None:
        await hooks.after_transition(c, case, transition_name, actor)
