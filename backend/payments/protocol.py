"""WeChat Pay API v3 signatures and resource encryption, shared by the adapter and the simulator.

- Requests to WeChat carry ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=..,nonce_str=..,
  signature=..,timestamp=..,serial_no=..``; the signature is SHA256-RSA (PKCS#1 v1.5) with the
  merchant private key over ``METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n`` (URL = path and query).
- Responses and callbacks from WeChat carry ``Wechatpay-Timestamp``, ``-Nonce``, ``-Signature``
  and ``-Serial``; the signature is made with the platform key named by the serial over
  ``TIMESTAMP\\nNONCE\\nBODY\\n``, the body exactly as sent.
- A callback's ``resource`` is AES-256-GCM under the merchant's 32-byte API v3 key, with the
  resource's 12-byte nonce and its associated data; the tag is the ciphertext's last 16 bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SCHEMA = "WECHATPAY2-SHA256-RSA2048"
MAX_SKEW_S = 300  # WeChat's SDKs reject |now - Wechatpay-Timestamp| >= 5 minutes
H_SIGNATURE = "Wechatpay-Signature"
H_TIMESTAMP = "Wechatpay-Timestamp"
H_NONCE = "Wechatpay-Nonce"
H_SERIAL = "Wechatpay-Serial"
H_SIGNATURE_TYPE = "Wechatpay-Signature-Type"


class SignatureInvalid(Exception):
    """A response or callback whose signature, serial or timestamp does not verify."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DecryptFailed(Exception):
    """A resource that does not decrypt under the API v3 key (forged, or the wrong key)."""


def nonce_str() -> str:
    return secrets.token_hex(16).upper()


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """A platform public key (public-key mode) or a platform certificate (certificate mode)."""
    key: object  # narrowed to RSA below
    if b"CERTIFICATE" in pem:
        key = x509.load_pem_x509_certificate(pem).public_key()
    else:
        key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign(key: rsa.RSAPrivateKey, message: str) -> str:
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def verify(key: rsa.RSAPublicKey, message: str | bytes, signature_b64: str) -> bool:
    """Constant-shape check: any malformed input counts as a bad signature."""
    try:
        raw = base64.b64decode(signature_b64, validate=True)
        data = message if isinstance(message, bytes) else message.encode()
        key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        return False


def request_message(method: str, target: str, timestamp: str, nonce: str, body: str) -> str:
    return f"{method.upper()}\n{target}\n{timestamp}\n{nonce}\n{body}\n"


def signed_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """What a response or callback signature covers: the raw body bytes, never re-serialised."""
    return timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"


def authorization(
    *,
    mchid: str,
    serial: str,
    key: rsa.RSAPrivateKey,
    method: str,
    target: str,
    body: str,
    timestamp: int,
    nonce: str | None = None,
) -> str:
    nonce = nonce or nonce_str()
    signature = sign(key, request_message(method, target, str(timestamp), nonce, body))
    return (
        f'{SCHEMA} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial}"'
    )


def parse_authorization(header: str) -> dict[str, str]:
    schema, _, rest = header.partition(" ")
    if schema != SCHEMA:
        raise SignatureInvalid("schema")
    out: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureInvalid("authorization")
        out[name] = value.strip('"')
    for required in ("mchid", "nonce_str", "signature", "timestamp", "serial_no"):
        if required not in out:
            raise SignatureInvalid("authorization")
    return out


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value or ""


def response_headers(
    key: rsa.RSAPrivateKey, serial: str, body: bytes, timestamp: int, nonce: str | None = None
) -> dict[str, str]:
    """The headers WeChat puts on a response or a callback (used by the simulator)."""
    nonce = nonce or nonce_str()
    return {
        H_TIMESTAMP: str(timestamp),
        H_NONCE: nonce,
        H_SIGNATURE: sign_bytes(key, signed_message(str(timestamp), nonce, body)),
        H_SERIAL: serial,
        H_SIGNATURE_TYPE: SCHEMA,
    }


def sign_bytes(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify_wechatpay(
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, rsa.RSAPublicKey],
    now_s: float,
    max_skew_s: int = MAX_SKEW_S,
) -> str:
    """Verify a WeChat Pay response or callback; return the serial that signed it.

    Order: all headers present, signature type, timestamp within ``max_skew_s`` of ``now_s``,
    a known serial, then the RSA signature over the raw body. Any failure raises
    :class:`SignatureInvalid` with a short reason fit for a log line.
    """
    signature = _header(headers, H_SIGNATURE)
    timestamp = _header(headers, H_TIMESTAMP)
    nonce = _header(headers, H_NONCE)
    serial = _header(headers, H_SERIAL)
    if not (signature and timestamp and nonce and serial):
        raise SignatureInvalid("missing_headers")
    signature_type = _header(headers, H_SIGNATURE_TYPE)
    if signature_type and signature_type != SCHEMA:
        raise SignatureInvalid("signature_type")
    if not (timestamp.isdigit() and len(timestamp) <= 12):
        raise SignatureInvalid("timestamp_format")
    if abs(now_s - int(timestamp)) >= max_skew_s:
        raise SignatureInvalid("timestamp_stale")
    key = keys.get(serial)
    if key is None:
        raise SignatureInvalid("unknown_serial")
    if not verify(key, signed_message(timestamp, nonce, body), signature):
        raise SignatureInvalid("bad_signature")  # including WECHATPAY/SIGNTEST/ probes
    return serial


def encrypt_resource(
    apiv3_key: bytes, plaintext: dict[str, Any], associated_data: str, original_type: str
) -> dict[str, str]:
    nonce = secrets.token_urlsafe(9)[:12]
    sealed = AESGCM(apiv3_key).encrypt(
        nonce.encode(),
        json.dumps(plaintext, ensure_ascii=False, separators=(",", ":")).encode(),
        associated_data.encode(),
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "nonce": nonce,
        "associated_data": associated_data,
        "original_type": original_type,
    }


def decrypt_resource(apiv3_key: bytes, resource: Mapping[str, Any]) -> dict[str, Any]:
    try:
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise DecryptFailed("algorithm")
        nonce = str(resource["nonce"]).encode()
        associated = str(resource.get("associated_data") or "").encode()
        sealed = base64.b64decode(str(resource["ciphertext"]), validate=True)
        plain = AESGCM(apiv3_key).decrypt(nonce, sealed, associated)
        data = json.loads(plain)
    except DecryptFailed:
        raise
    except (KeyError, ValueError, TypeError, binascii.Error, InvalidTag) as exc:
        raise DecryptFailed(type(exc).__name__) from exc
    if not isinstance(data, dict):
        raise DecryptFailed("not_an_object")
    return data


def apiv3_key_bytes(value: str) -> bytes:
    raw = value.encode()
    if len(raw) != 32:
        raise ValueError("the API v3 key must be 32 characters")
    return raw


@dataclass(frozen=True)
class JsapiParams:
    """What ``wx.requestPayment`` takes, signed with the merchant key."""

    app_id: str
    time_stamp: str
    nonce_str: str
    package: str
    sign_type: str
    pay_sign: str

    def as_json(self) -> dict[str, str]:
        return {
            "appId": self.app_id,
            "timeStamp": self.time_stamp,
            "nonceStr": self.nonce_str,
            "package": self.package,
            "signType": self.sign_type,
            "paySign": self.pay_sign,
        }


def jsapi_params(key: rsa.RSAPrivateKey, appid: str, prepay_id: str, timestamp: int) -> JsapiParams:
    nonce = nonce_str()
    package = f"prepay_id={prepay_id}"
    pay_sign = sign(key, f"{appid}\n{timestamp}\n{nonce}\n{package}\n")
    return JsapiParams(appid, str(timestamp), nonce, package, "RSA", pay_sign)
