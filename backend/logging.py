"""Logging that never writes personal data: ID numbers and phone numbers are masked in every
record, whatever code produced it. :func:`configure_logging` sets up the processes' output
(timestamps, or JSON lines for a log shipper)."""

from __future__ import annotations

import json
import logging
import re
import time

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


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log shipper."""

    converter = staticmethod(time.gmtime)

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s [%(process)d] %(message)s"
SANIC_LOGGERS = ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets")


def configure_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    """Every line with a UTC timestamp, level, logger and process id (or JSON with
    ``YIBAO_LOG_FORMAT=json``), on stderr, personal data masked. Call after Sanic has set up
    its own loggers: they are routed through the same handler."""
    handler = logging.StreamHandler()
    for name in SANIC_LOGGERS:  # one format for every line: Sanic's go through the root
        sanic_logger = logging.getLogger(name)
        sanic_logger.handlers.clear()
        sanic_logger.propagate = True
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        formatter = logging.Formatter(TEXT_FORMAT, "%Y-%m-%dT%H:%M:%S")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    install_redaction()
