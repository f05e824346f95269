"""argon2id staff passwords."""

import pytest
from argon2 import PasswordHasher

from backend.errors import InvalidInput
from backend.identity.passwords import hash_password, needs_rehash, verify_password

PASSWORD = "Yibao#2024pass"


def test_hash_is_argon2id_and_verifies():
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "x")
    assert not verify_password(hashed, "")
    assert hash_password(PASSWORD) != hashed  # salted


def test_malformed_stored_hash_is_a_mismatch_not_a_crash():
    assert not verify_password("not-a-hash", PASSWORD)
    assert not verify_password("", PASSWORD)
    assert needs_rehash("not-a-hash")


def test_rehash_when_parameters_change():
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert verify_password(weaker, PASSWORD)  # still accepted
    assert needs_rehash(weaker)
    assert not needs_rehash(hash_password(PASSWORD))


@pytest.mark.parametrize("weak", ["short1!", "onlyletters", "1234567890", "x" * 200])
def test_new_password_rules(weak):
    with pytest.raises(InvalidInput) as err:
        hash_password(weak)
    assert err.value.code == "PASSWORD_INVALID"
