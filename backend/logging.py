"""Logging that never writes personal data: ID numbers and phone numbers are masked in every
record, whatever code produced it."""

from __future__ import annotations

import logging
import re

_ID_NUMBER = re.compile(r"(?<!\d)(\d{4})\d{10}(\d{3}[\dXx])(?!\d)")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def redact(text: str) -> str:
    return _PHONE.sub(r"\1****\2", _ID_NUMBER.sub(r"\1**********\2", text))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_redaction() -> None:
    """Attach the filter to every handler of the root and Sanic loggers."""
    redactor = RedactingFilter()
    for name in ("", "sanic.root", "sanic.error", "sanic.access", "yibao"):
        logger = logging.getLogger(name)
        logger.addFilter(redactor)
        for handler in logger.handlers:
            handler.addFilter(redactor)
