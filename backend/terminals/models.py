from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Terminal(Model):
    """A pharmacy or hospital terminal that signs its requests with a shared HMAC key."""

    key_id = fields.CharField(max_length=64, primary_key=True)
    secret_enc = fields.CharField(max_length=200)
    institution_code = fields.CharField(max_length=32)
    institution_name = fields.CharField(max_length=100)
    city_code = fields.CharField(max_length=6)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "terminal"


class TerminalNonce(Model):
    """A terminal request's nonce, spent: the durable replay guard (Redis is the fast first
    check and may lose everything). Kept until the request's timestamp is too old to be
    accepted (``expires_at`` = timestamp + ``terminal_max_skew_s``), then deleted by the
    ``clean_terminal_nonces`` job."""

    key = fields.CharField(max_length=130, primary_key=True)  # "<key id>:<nonce>"
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "terminal_nonce"
