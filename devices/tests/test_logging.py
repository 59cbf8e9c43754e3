"""Logs: one line per request at most, polls and probes below INFO, JSON on request, never a secret."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys

import pytest

from devices.tests.test_settings_env import ROOT, clean_env
from devices.upstream.redaction import RedactingFilter
from gearsdash.access_log import is_poll, loggable_path
from gearsdash.logconfig import RedactingJsonFormatter

TEMPLATES = ROOT / "templates"


def request_lines(caplog) -> list[logging.LogRecord]:
    """Every record about a request: the access line, and Django's own request and server loggers."""
    return [r for r in caplog.records if r.name in ("gearsdash.access", "django.request", "django.server")]


def test_a_page_is_logged_once_at_info_with_its_status_and_user(viewer_client, viewer, caplog):
    with caplog.at_level(logging.DEBUG, logger="gearsdash.access"):
        viewer_client.get("/devices/")
    (line,) = request_lines(caplog)
    assert line.levelno == logging.INFO
    assert (line.method, line.path, line.status, line.user_id) == ("GET", "/devices/", 200, viewer.pk)
    assert line.getMessage().startswith("GET /devices/ 200 ")


def test_a_missing_page_is_one_warning_not_two(viewer_client, caplog):
    with caplog.at_level(logging.DEBUG, logger="gearsdash.access"):
        viewer_client.get("/devices/999999/")
    (line,) = request_lines(caplog)
    assert line.levelno == logging.WARNING and line.status == 404


@pytest.mark.urls("devices.tests.broken_urls")
def test_a_server_error_is_reported_once_with_its_traceback(viewer_client, caplog):
    viewer_client.raise_request_exception = False
    with caplog.at_level(logging.DEBUG, logger="gearsdash.access"):
        response = viewer_client.get("/broken/")
    assert response.status_code == 500
    (line,) = request_lines(caplog)
    assert line.name == "django.request" and line.levelno == logging.ERROR
    traceback = line.exc_text or logging.Formatter().formatException(line.exc_info)
    assert "RuntimeError: a bug in a view" in traceback


@pytest.mark.parametrize("trigger", ["upstream-status", "overview-activity", "bulk-progress", "sync-progress",
                                     "remediation", "device-history"])
def test_htmx_polls_are_logged_at_debug_only(viewer_client, caplog, trigger):
    poll = {"HX-Request": "true", "HX-Trigger": trigger}
    with caplog.at_level(logging.INFO):
        viewer_client.get("/devices/upstream/", headers=poll)
    assert request_lines(caplog) == []
    with caplog.at_level(logging.DEBUG, logger="gearsdash.access"):
        viewer_client.get("/devices/upstream/", headers=poll)
    (line,) = request_lines(caplog)
    assert line.levelno == logging.DEBUG


def test_an_htmx_request_a_user_made_is_logged_at_info(viewer_client, caplog):
    with caplog.at_level(logging.DEBUG, logger="gearsdash.access"):
        viewer_client.get("/devices/?q=ws", headers={"HX-Request": "true", "HX-Trigger": "device-search"})
    (line,) = request_lines(caplog)
    assert line.levelno == logging.INFO
    assert "q=ws" not in line.getMessage()  # the query string is never logged


def test_the_notices_feed_and_the_health_probe_are_logged_at_debug_only(viewer_client, caplog):
    with caplog.at_level(logging.INFO):
        viewer_client.get("/devices/notices/")
        viewer_client.get("/healthz")
    assert request_lines(caplog) == []
    with caplog.at_level(logging.DEBUG, logger="gearsdash.access"):
        viewer_client.get("/devices/notices/")
        viewer_client.get("/healthz")
    assert [r.levelno for r in request_lines(caplog)] == [logging.DEBUG, logging.DEBUG]


def polling_elements() -> list[str]:
    """The id of every element in the templates that polls (hx-trigger="every …"), a template tag as 7."""
    found = []
    for template in TEMPLATES.rglob("*.html"):
        for tag in re.findall(r"<[a-z]+\b[^>]*hx-trigger=\"every [^>]*>", template.read_text(), re.S):
            element_id = re.search(r"\bid=\"([^\"]+)\"", tag)
            assert element_id, f"{template}: a polling element without an id cannot be told apart: {tag}"
            found.append(re.sub(r"\{\{[^}]*\}\}", "7", element_id[1]))
    return found


def test_every_polling_element_in_the_templates_is_recognised_as_a_poll(rf):
    elements = polling_elements()
    assert len(elements) >= 6
    for element in elements:
        assert is_poll(rf.get("/any/", headers={"HX-Trigger": element})), element


def test_a_password_reset_token_never_reaches_the_log():
    assert loggable_path("/accounts/reset/MQ/cc1a2b-0123456789abcdef/") == "/accounts/reset/[redacted]/"
    assert loggable_path("/devices/12/") == "/devices/12/"


def json_lines(**fields) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(RedactingJsonFormatter())
    logger = logging.Logger("json-test")
    logger.addHandler(handler)
    return logger, stream


def test_json_lines_carry_no_secret_in_the_message_the_traceback_or_extra_fields():
    logger, stream = json_lines()
    try:
        raise ValueError("GET https://gears/o/api?access_token=tok-in-exception failed")
    except ValueError:
        logger.exception("call failed: Bearer tok-in-header", extra={"url": "https://g/?client_secret=tok-in-extra"})
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR" and record["logger"] == "json-test"
    assert "ValueError" in record["exc_info"] and "[redacted]" in record["url"]
    assert "tok-in" not in line


def test_json_lines_leave_out_djangos_raw_request_object():
    logger, stream = json_lines()
    logger.warning("Not Found: /x", extra={"request": "<WSGIRequest: GET '/x?code=tok-in-request'>", "status_code": 404})
    record = json.loads(stream.getvalue())
    assert "request" not in record and record["status_code"] == 404


def test_the_production_format_is_one_json_object_a_line(tmp_path):
    script = ("import logging; logging.getLogger('gearsdash.try').warning('see ?access_token=tok-at-start'); "
              "from django.test import Client; Client(HTTP_HOST='localhost').get('/healthz')")
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, timeout=60,
                            env=clean_env(tmp_path, GEARSDASH_LOG_FORMAT="json", DJANGO_HTTPS="0"),
                            capture_output=True, text=True)
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert any(r["logger"] == "gearsdash.try" and "[redacted]" in r["message"] for r in records), result.stderr
    assert "tok-at-start" not in result.stderr
    assert not any(r["logger"] in ("gearsdash.access", "django.request") for r in records)  # the probe: DEBUG
