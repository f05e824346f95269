import logging

from backend.logging import RedactingFilter, redact


def test_id_numbers_and_phones_are_masked():
    text = "bind 33010619900101123X phone 13812345678 order 20261126000012345678"
    out = redact(text)
    assert "33010619900101123X" not in out
    assert "3301**********123X" in out
    assert "138****5678" in out


def test_filter_rewrites_formatted_records(caplog):
    logger = logging.getLogger("yibao.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="yibao.test"):
        logger.info("lookup of %s", "110101199003074514")
    assert "110101199003074514" not in caplog.text
    assert "1101**********4514" in caplog.text


def _configured(fmt: str, capfd) -> list[str]:
    """Log one line through configure_logging(fmt); the root and Sanic loggers are restored."""
    from backend.logging import SANIC_LOGGERS, configure_logging

    loggers = [logging.getLogger(n) for n in ("", *SANIC_LOGGERS)]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    try:
        configure_logging(fmt)
        logging.getLogger("yibao.test").warning("核验 %s 完成", "110101199003074514")
        return capfd.readouterr().err.strip().splitlines()
    finally:
        for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
            lg.handlers, lg.level, lg.propagate = handlers, level, propagate


def test_log_lines_have_a_utc_timestamp_and_mask_personal_data(capfd):
    [line] = _configured("text", capfd)
    assert line[:4].isdigit() and "Z WARNING yibao.test [" in line
    assert "1101**********4514" in line and "110101199003074514" not in line


def test_json_log_lines_for_a_log_shipper(capfd):
    import json

    [line] = _configured("json", capfd)
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "yibao.test"
    assert entry["ts"].endswith("Z") and entry["pid"] > 0
    assert entry["message"] == "核验 1101**********4514 完成"
