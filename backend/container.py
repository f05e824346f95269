"""The application's resources and adapters, built once per process from settings.

Services receive what they need from here; the web app keeps one on ``app.ctx.container``.
Tests build their own (a fixed clock, a test database) and hand it to the app factory.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.clock import Clock, SystemClock
from backend.identity.idp import IdentityProvider, identity_provider_for
from backend.infra.crypto import PiiCipher
from backend.infra.keys import KeyRing, load_keys
from backend.infra.kv import KeyValueStore, open_store
from config.policy import Policies, load_policies
from config.settings import Settings


@dataclass
class Container:
    settings: Settings
    keys: KeyRing
    policies: Policies
    clock: Clock
    kv: KeyValueStore
    pii: PiiCipher
    identity_provider: IdentityProvider


def build_container(
    settings: Settings,
    *,
    clock: Clock | None = None,
    kv: KeyValueStore | None = None,
    identity_provider: IdentityProvider | None = None,
) -> Container:
    keys = load_keys(settings)
    return Container(
        settings=settings,
        keys=keys,
        policies=load_policies(),
        clock=clock or SystemClock(),
        kv=kv or open_store(settings.redis_url),
        pii=PiiCipher(keys.pii_key, keys.index_key),
        identity_provider=identity_provider or identity_provider_for(settings),
    )
