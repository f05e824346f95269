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
