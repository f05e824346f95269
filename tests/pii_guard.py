"""Every JSON response the test suite produces is checked for personal data shown in full: an
ID number, a phone number, a bank account or an address. The test client calls
:func:`assert_masked` on each answer (tests/conftest.py), so a new endpoint that leaks fails
whichever test first calls it.

Two nets: the values under keys that name personal data must be masked (contain ``*``), and no
string anywhere may hold a well-formed ID number (with a valid check digit) or a mobile number.
"""

from __future__ import annotations

import json
import re
from typing import Any

from backend.identity.idcard import check_character

SENSITIVE_KEYS = frozenset(
    {
        "id_number",
        "phone",
        "new_phone",
        "mobile",
        "bank_account",
        "payout_account",
        "address",
        "new_address",
        "delivery_address",
        "cert_no",
    }
)
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{17}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


def _id_numbers(text: str) -> list[str]:
    return [m for m in _ID_NUMBER.findall(text) if check_character(m[:17]) == m[17].upper()]


def leaks(value: Any, path: str = "$") -> list[str]:
    """Where ``value`` shows personal data in full (JSON paths), empty when it does not."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in SENSITIVE_KEYS and isinstance(item, str) and item and "*" not in item:
                found.append(f"{where}: unmasked {key}")
            found.extend(leaks(item, where))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(leaks(item, f"{path}[{i}]"))
    elif isinstance(value, str):
        if _id_numbers(value):
            found.append(f"{path}: an ID number")
        if _MOBILE.search(value):
            found.append(f"{path}: a mobile number")
    return found


def assert_masked(method: str, url: str, content_type: str, body: bytes) -> None:
    if not content_type.startswith("application/json") or not body:
        return
    try:
        payload = json.loads(body)
    except ValueError:
        return
    found = leaks(payload)
    assert not found, f"{method} {url} shows personal data in full: {found}"
