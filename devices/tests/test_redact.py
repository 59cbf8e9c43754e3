"""Access tokens travel in the upstream's query string: no log line may carry one."""

from __future__ import annotations

import logging

from devices.upstream.redaction import RedactingFilter, redact

TOKEN = "ab3aec71-fa6a-4752-8804-00c37f934059"


def test_secret_query_parameters_and_bearer_tokens_are_redacted():
    text = f"POST https://gears.opswat.com/o/api/v2/devices/x/action?types=dhcprenew&access_token={TOKEN}&opt=1 Authorization: Bearer {TOKEN}"
    cleaned = redact(text)
    assert TOKEN not in cleaned
    assert "types=dhcprenew&access_token=[redacted]&opt=1" in cleaned
    assert redact(f"client_secret=s3cret&refresh_token={TOKEN}") == "client_secret=[redacted]&refresh_token=[redacted]"


def test_the_log_filter_redacts_messages_arguments_and_tracebacks(caplog):
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="test.redact"):
            logger.info("calling %s", f"/o/api/v2.2/devices/x/remediation?access_token={TOKEN}")
            try:
                raise ConnectionError(f"Max retries exceeded with url: /o/api?access_token={TOKEN}")
            except ConnectionError:
                logger.exception("upstream failed")
    finally:
        logger.filters.clear()
    logged = caplog.text + "".join(record.exc_text or "" for record in caplog.records)
    assert TOKEN not in logged
    assert "access_token=[redacted]" in logged
