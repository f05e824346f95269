"""Start-up, in one place: the web app, ``yibao worker`` and the CLI commands all call
:func:`bootstrap`, and tests call it with their own clock and store.

It builds the container from settings (choosing each interface's adapter), hands the job
queue its job specifications, lists the background loops of a long-running process,
registers the hooks of the domains that add to the case engine (:data:`DOMAIN_HOOKS`) and
checks the workflow definitions against the vocabulary, the policy files and those hooks: a
process with a bad definition does not start.
"""

from __future__ import annotations

from collections.abc import Callable

from backend import demo
from backend.audit.sealer import sealer_loop
from backend.cases.checks import check_definitions
from backend.cases.hooks import ServiceHookRegistry
from backend.chronic import service as chronic
from backend.claims import hooks as claims
from backend.claims.jobs import read_invoice_image
from backend.clock import Clock, SystemClock
from backend.container import Container
from backend.filings import service as filings
from backend.identity import info_change
from backend.identity.face import face_verifier_for
from backend.identity.idp import IdentityProvider, identity_provider_for
from backend.identity.registry import population_registry_for
from backend.identity.token_memo import VerifiedTokens
from backend.infra.crypto import PiiCipher
from backend.infra.jobqueue import InProcessJobQueue, open_job_queue
from backend.infra.keys import load_keys
from backend.infra.kv import KeyValueStore, open_store
from backend.infra.shared_cache import SharedCache
from backend.infra.storage import open_storage
from backend.jobs import on_demand_jobs
from backend.outbox.service import relay_loop
from backend.vocabulary_check import check_demo
from config.policy import load_policies
from config.settings import Settings
from workflows.definitions import BUILTIN
from workflows.registry import Registry

# The domains that add to the case engine (readiness, after-transition steps, owned services)
DOMAIN_HOOKS: tuple[Callable[[ServiceHookRegistry], None], ...] = (
    info_change.register_hooks,
    claims.register_hooks,
    chronic.register_hooks,
    filings.register_hooks,
)


def service_hooks() -> ServiceHookRegistry:
    """The hooks of every service, registered by the domains of :data:`DOMAIN_HOOKS`."""
    hooks = ServiceHookRegistry()
    for register in DOMAIN_HOOKS:
        register(hooks)
    return hooks


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    kv: KeyValueStore | None = None,
    identity_provider: IdentityProvider | None = None,
) -> Container:
    """The container of one process (or one test), wired and checked; nothing is started
    (``await container.start()`` starts the background loops)."""
    keys = load_keys(settings)
    clock = clock or SystemClock()
    kv = kv or open_store(settings.redis_url, clock)
    container = Container(
        settings=settings,
        keys=keys,
        policies=load_policies(),
        clock=clock,
        kv=kv,
        pii=PiiCipher(keys.pii_key, keys.index_key),
        identity_provider=identity_provider or identity_provider_for(settings),
        face_verifier=face_verifier_for(
            settings.wechat_appid, settings.wechat_secret, settings.wechat_api_base, clock
        ),
        population_registry=population_registry_for(settings.data_dir, settings.production),
        cache=SharedCache(kv),
        verified_tokens=VerifiedTokens(),
        invoice_reader=read_invoice_image,
        definitions=Registry(BUILTIN),
        hooks=service_hooks(),
        jobs=open_job_queue(settings, on_demand_jobs(settings)),
        storage=open_storage(settings.data_dir),
    )
    if isinstance(container.jobs, InProcessJobQueue):
        container.jobs.attach(container)
    container.loops = [sealer_loop(container), relay_loop(container)]
    check_definitions(container.policies, container.definitions, container.hooks)
    check_demo(demo.STATIONS, demo.STAFF)  # the demo names only what the vocabulary knows
    return container
