"""schemathesis against the live schema: no 5xx and no answer outside the schema, with a token of every scope.

Runs in the unit suite, bounded (a few examples per operation), against a live
server over real HTTP. The drainer is not kicked: what is queued stays queued.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devices.models import ApiScope
from devices.tests.api.conftest import ALL_SCOPES
from gearsdash.env import RateLimit

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Examples per operation: more with every scope (where requests get past the scope check), a few for each one alone.
EXAMPLES = {"all": 5}
EXAMPLES_ONE_SCOPE = 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scope", ["all", *ApiScope.values])
def test_no_server_error_and_no_answer_outside_the_schema(live_server, admin_user, make_token, make_device,
                                                          settings, scope):
    settings.GEARS_KICK_DRAINER = False
    settings.API_RATE_LIMIT = RateLimit(100_000, 60)  # the API's own rate is tested on its own (test_throttle)
    make_device("ws-1", hwid="A" * 16)
    make_device("ws-2", macs=["00:0c:29:f2:7a:29"])
    _, plain = make_token(admin_user, ALL_SCOPES if scope == "all" else [scope])
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    headers = {"Authorization": f"Bearer {plain}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES.get(scope, EXAMPLES_ONE_SCOPE), deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(base_url=live_server.url, headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as failure:  # one operation's failure must not hide another's
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    assert not failures, "\n\n".join(failures)
