"""Personal data at rest: AES-GCM with the column bound in, keyed blind indexes, masks."""

import os

import pytest

from backend.infra.crypto import (
    DecryptionFailed,
    PiiCipher,
    mask_bank_account,
    mask_id_number,
    mask_name,
    mask_phone,
)

ID = "330106199001011234"


@pytest.fixture
def cipher() -> PiiCipher:
    return PiiCipher(os.urandom(32), os.urandom(32))


def test_round_trip_and_no_plaintext_in_ciphertext(cipher):
    sealed = cipher.encrypt(ID, "id_number")
    assert cipher.decrypt(sealed, "id_number") == ID
    assert ID not in sealed
    assert "1234" not in sealed.split(".", 1)[0]


def test_same_value_encrypts_differently_each_time(cipher):
    assert cipher.encrypt(ID, "id_number") != cipher.encrypt(ID, "id_number")


def test_unicode_round_trip(cipher):
    assert cipher.decrypt(cipher.encrypt("张三丰", "name"), "name") == "张三丰"


def test_ciphertext_of_one_field_does_not_decrypt_as_another(cipher):
    sealed = cipher.encrypt("13812345678", "phone")
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(sealed, "id_number")


def test_other_key_cannot_decrypt(cipher):
    other = PiiCipher(os.urandom(32), os.urandom(32))
    with pytest.raises(DecryptionFailed):
        other.decrypt(cipher.encrypt(ID, "id_number"), "id_number")


@pytest.mark.parametrize("position", [3, 10, 20, -2])
def test_tampered_ciphertext_fails(cipher, position):
    sealed = cipher.encrypt(ID, "id_number")
    version, payload = sealed.split(".", 1)
    chars = list(payload)
    chars[position] = "A" if chars[position] != "A" else "B"
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(f"{version}.{''.join(chars)}", "id_number")


@pytest.mark.parametrize("garbage", ["", "v1.", "v1.!!!", "v2.AAAA", "no-dot-at-all", "v1.AAAA"])
def test_garbage_fails_cleanly(cipher, garbage):
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(garbage, "id_number")


def test_blind_index_is_stable_normalised_and_keyed(cipher):
    a = cipher.blind_index("11010519491231002X", "id_number")
    assert a == cipher.blind_index(" 11010519491231002x ", "id_number")
    assert a != cipher.blind_index("11010519491231002X", "phone")  # per field
    assert a != cipher.blind_index("110105194912310029", "id_number")
    other = PiiCipher(os.urandom(32), os.urandom(32))
    assert a != other.blind_index("11010519491231002X", "id_number")  # keyed
    assert len(a) == 64 and "1101051949" not in a


def test_short_keys_are_refused():
    with pytest.raises(ValueError):
        PiiCipher(os.urandom(16), os.urandom(32))
    with pytest.raises(ValueError):
        PiiCipher(os.urandom(32), os.urandom(16))


def test_masks():
    assert mask_id_number(ID) == "3301**********1234"
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_bank_account("6222021234567890123") == "*" * 15 + "0123"
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("李四") == "李*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_id_number("123") == "***"
