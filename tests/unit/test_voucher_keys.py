"""E-voucher signing keys: development generation, production refusals, file checks, rotation
and retirement windows, and the code's QR size."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend.infra.keys import KeyConfigError
from backend.vouchers import keys as voucher_keys
from backend.vouchers.codes import issue_code, new_voucher_id
from backend.vouchers.keys import DEV_KEY_FILE, VoucherKeyRing, keyring_for
from backend.vouchers.keyset import create_key_file, new_key_entry, parse_key_set, rotate_key_file
from backend.vouchers.qr import qr_version
from config.settings import Settings

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_rings():
    yield
    voucher_keys.forget_keyrings()


def _settings(tmp_path, **kw) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", **kw)


def test_development_generates_a_private_key_file_once(tmp_path):
    settings = _settings(tmp_path)
    ring = keyring_for(settings)
    path = tmp_path / "data" / DEV_KEY_FILE
    assert ring.path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = json.loads(path.read_text())
    assert raw["development"] is True
    kid = ring.keys.signer(T0).kid
    voucher_keys.forget_keyrings()
    assert keyring_for(settings).keys.signer(T0).kid == kid  # reused, not regenerated


def test_production_needs_its_own_key_file(tmp_path):
    with pytest.raises(KeyConfigError, match="YIBAO_VOUCHER_KEYS_FILE"):
        keyring_for(_settings(tmp_path, env="production"))

    # The generated development file, named explicitly, is refused.
    keyring_for(_settings(tmp_path))
    dev_file = tmp_path / "data" / DEV_KEY_FILE
    voucher_keys.forget_keyrings()
    with pytest.raises(KeyConfigError, match="开发"):
        keyring_for(_settings(tmp_path, env="production", voucher_keys_file=dev_file))

    # So is a copy of the development key relabelled as production.
    copy = json.loads(dev_file.read_text())
    copy["development"] = False
    disguised = tmp_path / "prod-keys.json"
    disguised.write_text(json.dumps(copy))
    with pytest.raises(KeyConfigError, match="开发"):
        keyring_for(_settings(tmp_path, env="production", voucher_keys_file=disguised))

    # A missing file is not silently generated in production.
    with pytest.raises(KeyConfigError, match="不存在"):
        keyring_for(_settings(tmp_path, env="production", voucher_keys_file=tmp_path / "nope"))

    real = tmp_path / "real-keys.json"
    create_key_file(real, development=False)
    ring = keyring_for(_settings(tmp_path, env="production", voucher_keys_file=real))
    assert ring.keys.signer(datetime.now(UTC) + timedelta(seconds=1)).private_key is not None


def _p384_pem() -> str:
    key = ec.generate_private_key(ec.SECP384R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda e: e.update(kid="bad kid!"), "kid"),
        (lambda e: e.update(private_key=_p384_pem()), "P-256"),
        (lambda e: e.update(private_key="not a pem"), "PEM"),
        (lambda e: e.update(activates_at="2026-01-01T00:00:00"), "时区"),
        (lambda e: e.pop("private_key"), "private_key 或 public_key"),
    ],
)
def test_bad_key_files_are_refused_with_the_field_named(mutate, message):
    entry = new_key_entry(T0)
    mutate(entry)
    with pytest.raises(KeyConfigError, match=message):
        parse_key_set({"keys": [entry]}, "voucher-keys.json")


def test_duplicate_kids_and_mismatched_pairs_are_refused():
    a = new_key_entry(T0)
    b = new_key_entry(T0 + timedelta(days=1))
    b["kid"] = a["kid"]
    with pytest.raises(KeyConfigError, match="kid 重复"):
        parse_key_set({"keys": [a, b]}, "k.json")
    c = new_key_entry(T0)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    c["public_key"] = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(KeyConfigError, match="不匹配"):
        parse_key_set({"keys": [c]}, "k.json")


def test_signing_windows_publication_and_compromise():
    old, new = new_key_entry(T0), new_key_entry(T0 + timedelta(hours=1))
    keys = parse_key_set({"keys": [new, old]}, "k.json")
    retention = 70
    first, second = keys.keys
    assert first.kid == old["kid"] and first.retired_at == T0 + timedelta(hours=1)
    assert keys.signer(T0 + timedelta(minutes=59)).kid == old["kid"]
    assert keys.signer(T0 + timedelta(hours=1)).kid == new["kid"]
    # Both published from the start (the new one ahead of its use) until the old one's codes
    # have expired.
    assert len(keys.published(T0, retention)) == 2
    assert len(keys.published(T0 + timedelta(hours=1, seconds=69), retention)) == 2
    assert [k.kid for k in keys.published(T0 + timedelta(hours=1, seconds=70), retention)] == [
        new["kid"]
    ]
    retired_at = (T0 + timedelta(hours=1)).timestamp()
    assert first.signed_within_window(retired_at + 10, skew_s=10)
    assert not first.signed_within_window(retired_at + 11, skew_s=10)
    assert not second.signed_within_window(retired_at - 11, skew_s=10)

    old["compromised"] = True
    withdrawn = parse_key_set({"keys": [old, new]}, "k.json")
    assert withdrawn.get(old["kid"]) is None
    assert [k.kid for k in withdrawn.published(T0, retention)] == [new["kid"]]


def test_rotation_keeps_then_strips_then_drops_old_keys(tmp_path):
    path = tmp_path / "keys.json"
    create_key_file(path, development=True)
    first = json.loads(path.read_text())["keys"][0]["kid"]
    second = rotate_key_file(path, now=T0, retention_s=70)
    kids = [e["kid"] for e in json.loads(path.read_text())["keys"]]
    assert kids == [first, second]

    # Long after: the first key keeps only its public part (offline reports), then goes.
    third = rotate_key_file(path, now=T0 + timedelta(days=1), retention_s=70)
    entries = {e["kid"]: e for e in json.loads(path.read_text())["keys"]}
    assert "private_key" not in entries[first] and "public_key" in entries[first]
    assert "private_key" in entries[second]  # retired just now: its codes are still live
    rotate_key_file(path, now=T0 + timedelta(days=40), retention_s=70)
    kids = [e["kid"] for e in json.loads(path.read_text())["keys"]]
    assert first not in kids and second not in kids and third in kids


def test_a_running_ring_sees_a_rotated_file(tmp_path):
    path = tmp_path / "keys.json"
    create_key_file(path, development=True)
    ring = VoucherKeyRing(path, production=False, dev_file=None)
    kid = rotate_key_file(path, now=T0, retention_s=70)
    assert ring.keys.get(kid) is None or ring.keys.get(kid).kid == kid
    assert ring.reload_if_changed() is True
    assert ring.keys.signer(T0).kid == kid
    assert ring.reload_if_changed() is False


def test_every_code_has_the_same_small_qr_version():
    keys = parse_key_set({"keys": [new_key_entry(T0)]}, "k.json")
    key = keys.signer(T0)
    versions = set()
    for i in range(50):
        code = issue_code(key, new_voucher_id(), T0 + timedelta(seconds=i), 60).code
        assert len(code) < 240
        versions.add(qr_version(code))
    assert versions == {11}
