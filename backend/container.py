"""The application's resources and adapters, built once per process from settings.

Services receive what they need from here; the web app keeps one on ``app.ctx.container``.
Tests build their own (a fixed clock, a test database) and hand it to the app factory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from backend.audit.sealer import sealer_loop
from backend.clock import Clock, SystemClock
from backend.identity.face import FaceVerifier, face_verifier_for
from backend.identity.idp import IdentityProvider, identity_provider_for
from backend.identity.registry import PopulationRegistry, population_registry_for
from backend.identity.token_memo import VerifiedTokens
from backend.infra.crypto import PiiCipher
from backend.infra.group_commit import Flush, GroupCommit
from backend.infra.jobqueue import InProcessJobQueue, JobQueue, open_job_queue
from backend.infra.keys import KeyRing, load_keys
from backend.infra.kv import KeyValueStore, open_store
from backend.infra.loops import RepeatingPass
from backend.infra.shared_cache import SharedCache
from backend.infra.storage import FileStorage, open_storage
from backend.outbox.service import relay_loop
from config.policy import Policies, load_policies
from config.settings import Settings

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
    verified_tokens: VerifiedTokens = field(default_factory=VerifiedTokens)
    # On-demand jobs (OCR): SAQ when redis_url is set, else in-process. Uploaded files.
    jobs: JobQueue = field(default_factory=InProcessJobQueue)
    storage: FileStorage = field(default_factory=lambda: open_storage(Path("var")))
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
        """Background parts of a long-running process: the cache's invalidation feed, the
        audit sealer and the outbox relay (every web and job worker runs them; one seals at a
        time, relays share the rows)."""
        await self.cache.start()
        if not self.loops:
            self.loops = [sealer_loop(self), relay_loop(self)]
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


def build_container(
    settings: Settings,
    *,
    clock: Clock | None = None,
    kv: KeyValueStore | None = None,
    identity_provider: IdentityProvider | None = None,
) -> Container:
    keys = load_keys(settings)
    kv = kv or open_store(settings.redis_url)
    clock = clock or SystemClock()
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
        jobs=open_job_queue(settings),
        storage=open_storage(settings.data_dir),
    )
    if isinstance(container.jobs, InProcessJobQueue):
        container.jobs.attach(container)
    return container
