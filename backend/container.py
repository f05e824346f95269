"""What a process's services receive: its resources and adapters, behind small interfaces.

The container is plain data: it imports no domain at run time, so every domain can name it
(``c: Container``) without an import cycle. ``backend.bootstrap`` builds it from settings and
wires the domains into it; the web app keeps one on ``app.ctx.container``. Tests bootstrap
their own (a fixed clock, a test database) and hand it to the app factory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from backend.clock import Clock
from backend.infra.crypto import PiiCipher
from backend.infra.group_commit import Flush, GroupCommit
from backend.infra.jobqueue import InProcessJobQueue, JobQueue
from backend.infra.keys import KeyRing
from backend.infra.kv import KeyValueStore
from backend.infra.loops import RepeatingPass
from backend.infra.shared_cache import SharedCache
from backend.infra.storage import FileStorage, open_storage
from config.policy import Policies
from config.settings import Settings
from workflows.registry import Registry

if TYPE_CHECKING:  # the interfaces the container holds; their adapters are chosen at bootstrap
    from backend.cases.hooks import ServiceHookRegistry
    from backend.claims.jobs import InvoiceReader
    from backend.identity.face import FaceVerifier
    from backend.identity.idp import IdentityProvider
    from backend.identity.registry import PopulationRegistry
    from backend.identity.token_memo import VerifiedTokens
    from backend.payments.runtime import PaymentsRuntime

I = TypeVar("I")  # noqa: E741
O = TypeVar("O")  # noqa: E741


@dataclass
class Container:
    settings: Settings
    keys: KeyRing
    policies: Policies
    clock: Clock
    kv: KeyValueStore
    pii: PiiCipher
    identity_provider: IdentityProvider
    face_verifier: FaceVerifier  # 人脸核身 for real-name binding
    population_registry: PopulationRegistry  # who a minor's guardians are
    cache: SharedCache
    verified_tokens: VerifiedTokens
    invoice_reader: InvoiceReader  # OCR of an invoice photo (the OCR job)
    # The workflow definitions this process runs (the shipped ones; a test adds its own)
    definitions: Registry
    # What the domains add to the case engine, by service (each domain's register_hooks)
    hooks: ServiceHookRegistry
    # On-demand jobs (OCR): SAQ when redis_url is set, else in-process. Uploaded files.
    jobs: JobQueue = field(default_factory=InProcessJobQueue)
    storage: FileStorage = field(default_factory=lambda: open_storage(Path("var")))
    # The payment gateway and its keys: built from settings on first use
    # (backend.payments.runtime.runtime), or installed by a test or the simulator.
    payments: PaymentsRuntime | None = None
    # Per-process group-commit batchers of hot append-only writes, by name (group_commit()).
    group_commits: dict[str, GroupCommit[Any, Any]] = field(default_factory=dict)
    # Background passes of a long-running process (audit sealer, outbox relay), see start()
    loops: list[RepeatingPass] = field(default_factory=list)

    def group_commit(self, name: str, flush: Flush[I, O], **options: Any) -> GroupCommit[I, O]:
        """This process's batcher ``name`` (created on first use with ``flush``)."""
        batcher = self.group_commits.get(name)
        if batcher is None:
            batcher = self.group_commits[name] = GroupCommit(name, flush, **options)
        return batcher

    async def start(self) -> None:
        """Background parts of a long-running process: the cache's invalidation feed and the
        loops the bootstrap listed (every web and job worker runs them; one seals at a time,
        relays share the rows)."""
        await self.cache.start()
        for loop in self.loops:
            loop.start()

    async def stop(self) -> None:
        for batcher in self.group_commits.values():  # answer what is waiting, then close
            await batcher.drain()
        for loop in self.loops:
            await loop.stop()
        await self.jobs.close()
        await self.cache.stop()
        await self.kv.close()
