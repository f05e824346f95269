"""Staff passwords: argon2id (argon2-cffi), with rehashing when the parameters change.

The parameters are argon2-cffi's defaults (RFC 9106, low-memory profile: t=3, m=64 MiB, p=4).
A stored hash made with other parameters still verifies; :func:`needs_rehash` tells the login
to replace it with one made with the current parameters.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backend.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128  # argon2 hashes any length; the cap keeps a huge body from costing CPU

_hasher = PasswordHasher()


def check_new_password(password: str) -> None:
    """The rules a new staff password must satisfy."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"密码长度应为 {MIN_LENGTH} 到 {MAX_LENGTH} 个字符", code="PASSWORD_INVALID"
        )
    kinds = sum(
        (
            any(ch.isdigit() for ch in password),
            any(ch.isalpha() for ch in password),
            any(not ch.isalnum() for ch in password),
        )
    )
    if kinds < 2:
        raise InvalidInput("密码须同时包含字母、数字或符号中的至少两类", code="PASSWORD_INVALID")


def hash_password(password: str, *, check: bool = True) -> str:
    """Hash a password; ``check=False`` only to rehash one already accepted at login."""
    if check:
        check_new_password(password)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; a malformed stored hash counts as a mismatch."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def set_parameters(hasher: PasswordHasher) -> PasswordHasher:
    """Replace the hasher (stronger parameters in production, cheaper ones in tests); returns
    the previous one. Hashes made with other parameters keep verifying and get rehashed."""
    global _hasher
    previous, _hasher = _hasher, hasher
    _dummy_hash.cache_clear()
    return previous


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("dummy-password-for-unknown-users")


def verify_dummy(password: str) -> None:
    """Spend the time of one verification, so an unknown username answers as slowly as a
    wrong password and response times do not reveal which usernames exist."""
    verify_password(_dummy_hash(), password)
