"""The OpenAPI schema validates and covers every endpoint; its viewers come from the site and keep the CSP."""

from __future__ import annotations

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import get_resolver

from devices.tests.views.test_csp import inline_code

# The schema's views count toward the API's rate like the rest (the throttle cache is a table).
pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_a_warning(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert yaml.safe_load(out.read_text())["openapi"].startswith("3.")


def test_the_schema_describes_every_v1_endpoint_and_every_error_as_a_problem(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    routes = {str(p.pattern) for p in get_resolver("devices.api.urls").url_patterns[0].url_patterns}
    documented = {re.sub(r"\{(\w+)\}", r"<int:\1>", path.removeprefix("/api/v1/")) for path in schema["paths"]}
    assert {r.replace("<int:pk>", "<int:id>") for r in routes} == documented
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, answer in operation["responses"].items():
                if code.startswith(("4", "5")):
                    assert list(answer["content"]) == ["application/problem+json"], (path, method, code)


@pytest.mark.parametrize("page", ["/api/schema/swagger/", "/api/schema/redoc/"])
def test_the_viewers_load_only_the_sites_own_files_and_run_no_inline_script(client, page):
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert [found for found in inline_code(html) if "script" in found] == []
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "nothing from a CDN"
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy + ";"
    for asset in re.findall(r"(?:src|href)=\"/static/([^\"?]+)\"", html):
        assert finders.find(asset), asset


def test_swagger_uis_start_script_is_served_from_the_site(client):
    script = client.get("/api/schema/swagger/", {"script": ""})
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_other_pages_keep_the_strict_style_policy(admin_client_):
    assert "'unsafe-inline'" not in admin_client_.get("/devices/")["Content-Security-Policy"]
