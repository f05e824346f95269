"""Personal data at rest: AES-256-GCM encryption, keyed blind indexes and masking.

A resident ID number is low-entropy (birth date, region, sequence), so a plain hash would be
reversible by enumeration; the blind index is an HMAC under a key kept apart from the database.
The ciphertext is bound to its column through the associated data, so a value copied into
another column does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"


class DecryptionFailed(Exception):
    pass


class PiiCipher:
    def __init__(self, data_key: bytes, index_key: bytes) -> None:
        if len(data_key) != 32 or len(index_key) < 32:
            raise ValueError("PII keys must be 32 bytes")
        self._aead = AESGCM(data_key)
        self._index_key = index_key

    def encrypt(self, plaintext: str, field: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), field.encode())
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, field: str) -> str:
        try:
            version, payload = token.split(".", 1)
            if version != _VERSION:
                raise DecryptionFailed(f"unknown ciphertext version {version}")
            raw = base64.urlsafe_b64decode(payload)
            return self._aead.decrypt(raw[:12], raw[12:], field.encode()).decode()
        except (ValueError, InvalidTag) as exc:
            raise DecryptionFailed(field) from exc

    def blind_index(self, value: str, field: str) -> str:
        normalized = value.strip().upper()
        return hmac.new(
            self._index_key, f"{field}:{normalized}".encode(), hashlib.sha256
        ).hexdigest()


def mask_id_number(value: str) -> str:
    """``330106199001011234`` → ``3301**********1234``."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_bank_account(value: str) -> str:
    """Only the last four digits stay visible."""
    return "*" * max(0, len(value) - 4) + value[-4:]


def mask_birth_date(value: date) -> str:
    """``1990-01-01`` → ``1990-**-**``: beside a masked ID number a full birth date leaves
    only a handful of candidates for the whole number, so others see the year only."""
    return f"{value.year:04d}-**-**"


def mask_address(value: str) -> str:
    """The first six characters (province, city) stay visible: ``浙江省杭州市西湖区文三路 1 号`` →
    ``浙江省杭州市****``."""
    return value[:6] + "****" if len(value) > 6 else "*" * len(value)


def mask_name(value: str) -> str:
    """``张三丰`` → ``张*丰``; ``李四`` → ``李*``."""
    if len(value) <= 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
