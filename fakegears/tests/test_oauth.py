"""OAuth: /o/oauth/token grants and errors, /o/oauth/authorize, token lifetime and the static token."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import requests

from fakegears.config import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from fakegears.server import RunningSimulator
from fakegears.tests.support import HTTP_TIMEOUT, GearsClient, ManualClock

REDIRECT_URI = "http://127.0.0.1:9999/oauth/callback"
CLIENT = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}


def post_token(sim: RunningSimulator, **form: str) -> requests.Response:
    return requests.post(sim.base_url + "/o/oauth/token", data=form, timeout=HTTP_TIMEOUT)


def get_token(sim: RunningSimulator, **query: str) -> requests.Response:
    return requests.get(sim.base_url + "/o/oauth/token", params=query, timeout=HTTP_TIMEOUT)


def authorize(sim: RunningSimulator, **query: str) -> requests.Response:
    params = {"client_id": DEMO_CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code", **query}
    return requests.get(
        sim.base_url + "/o/oauth/authorize", params=params, allow_redirects=False, timeout=HTTP_TIMEOUT
    )


def code_from(response: requests.Response) -> str:
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def api_status(sim: RunningSimulator, token: str) -> int:
    return requests.get(
        sim.base_url + "/o/api/v2.2/devices", params={"access_token": token}, timeout=HTTP_TIMEOUT
    ).status_code


def assert_token_body(body: dict, *, lifetime: int = 43199, with_refresh: bool) -> None:
    assert uuid.UUID(body["access_token"]).version == 4
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == lifetime
    assert body["scope"] == "read"
    assert ("refresh_token" in body) is with_refresh


def test_client_credentials_by_post_form_returns_a_bearer_uuid_token(sim: RunningSimulator) -> None:
    response = post_token(sim, grant_type="client_credentials", **CLIENT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert_token_body(response.json(), with_refresh=False)


def test_client_credentials_by_get_query_works_too(sim: RunningSimulator) -> None:
    response = get_token(sim, grant_type="client_credentials", **CLIENT)
    assert response.status_code == 200
    assert_token_body(response.json(), with_refresh=False)
    assert api_status(sim, response.json()["access_token"]) == 200


def test_client_credentials_with_http_basic_client_authentication(sim: RunningSimulator) -> None:
    basic = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    response = requests.post(
        sim.base_url + "/o/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 200


def test_each_grant_returns_a_new_token(sim: RunningSimulator) -> None:
    first = post_token(sim, grant_type="client_credentials", **CLIENT).json()["access_token"]
    second = post_token(sim, grant_type="client_credentials", **CLIENT).json()["access_token"]
    assert first != second


def test_wrong_client_secret_is_401_invalid_client(sim: RunningSimulator) -> None:
    response = post_token(
        sim, grant_type="client_credentials", client_id=DEMO_CLIENT_ID, client_secret="wrong"
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "Bad client credentials"}


def test_unknown_client_id_is_401_invalid_client(sim: RunningSimulator) -> None:
    response = get_token(
        sim, grant_type="client_credentials", client_id="someone", client_secret=DEMO_CLIENT_SECRET
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_missing_client_credentials_is_401(sim: RunningSimulator) -> None:
    assert post_token(sim, grant_type="client_credentials").status_code == 401


def test_other_grant_type_is_400_unsupported_grant_type(sim: RunningSimulator) -> None:
    response = post_token(sim, grant_type="password", **CLIENT)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert "error_description" in response.json()


def test_client_id_and_secret_come_from_the_config(start_sim: Callable[..., RunningSimulator]) -> None:
    sim = start_sim(client_id="my-app", client_secret="s3cret")
    assert post_token(sim, grant_type="client_credentials", **CLIENT).status_code == 401
    response = post_token(sim, grant_type="client_credentials", client_id="my-app", client_secret="s3cret")
    assert response.status_code == 200


def test_token_lifetime_is_configurable(start_sim: Callable[..., RunningSimulator]) -> None:
    sim = start_sim(token_lifetime=120)
    body = post_token(sim, grant_type="client_credentials", **CLIENT).json()
    assert body["expires_in"] == 120


def test_token_stops_working_after_its_lifetime(start_sim: Callable[..., RunningSimulator]) -> None:
    clock = ManualClock()
    sim = start_sim(token_lifetime=600, clock=clock)
    token = post_token(sim, grant_type="client_credentials", **CLIENT).json()["access_token"]
    assert api_status(sim, token) == 200
    clock.advance(599.9)
    assert api_status(sim, token) == 200
    clock.advance(0.1)
    response = requests.get(
        sim.base_url + "/o/api/v2.2/devices", params={"access_token": token}, timeout=HTTP_TIMEOUT
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": "Access token expired"}


def test_authorize_redirects_at_once_to_redirect_uri_with_a_six_char_code(sim: RunningSimulator) -> None:
    response = authorize(sim)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?code=")
    assert re.fullmatch(r"[A-Za-z0-9]{6}", code_from(response))


def test_authorize_passes_state_through_and_keeps_existing_query(sim: RunningSimulator) -> None:
    response = authorize(sim, redirect_uri=REDIRECT_URI + "?next=%2Fhome", state="xyz")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["next"] == ["/home"]
    assert query["state"] == ["xyz"]
    assert len(query["code"][0]) == 6


def test_authorize_rejects_unknown_client_bad_response_type_and_non_http_redirect(
    sim: RunningSimulator,
) -> None:
    assert authorize(sim, client_id="other").status_code == 401
    assert authorize(sim, response_type="token").status_code == 400
    assert authorize(sim, redirect_uri="javascript:alert(1)").status_code == 400
    missing = requests.get(
        sim.base_url + "/o/oauth/authorize",
        params={"client_id": DEMO_CLIENT_ID, "response_type": "code"},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert missing.status_code == 400


def test_authorization_code_grant_returns_access_and_refresh_token(sim: RunningSimulator) -> None:
    code = code_from(authorize(sim))
    response = get_token(sim, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, **CLIENT)
    assert response.status_code == 200
    body = response.json()
    assert_token_body(body, with_refresh=True)
    assert api_status(sim, body["access_token"]) == 200


def test_authorization_code_is_single_use(sim: RunningSimulator) -> None:
    code = code_from(authorize(sim))
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, **CLIENT}
    assert post_token(sim, **form).status_code == 200
    again = post_token(sim, **form)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_authorization_code_with_other_redirect_uri_is_invalid_grant(sim: RunningSimulator) -> None:
    code = code_from(authorize(sim))
    response = post_token(
        sim, grant_type="authorization_code", code=code, redirect_uri="http://127.0.0.1:9999/other", **CLIENT
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_unknown_authorization_code_is_invalid_grant(sim: RunningSimulator) -> None:
    response = post_token(
        sim, grant_type="authorization_code", code="NOPE12", redirect_uri=REDIRECT_URI, **CLIENT
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_grant_returns_a_new_access_token_and_a_refresh_token(sim: RunningSimulator) -> None:
    code = code_from(authorize(sim))
    first = post_token(
        sim, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, **CLIENT
    ).json()
    # PacketFence refreshes with a plain GET query (docs/upstream/api-notes.md §3).
    response = get_token(sim, grant_type="refresh_token", refresh_token=first["refresh_token"], **CLIENT)
    assert response.status_code == 200
    body = response.json()
    assert_token_body(body, with_refresh=True)
    assert body["access_token"] != first["access_token"]
    assert api_status(sim, body["access_token"]) == 200


def test_unknown_refresh_token_is_invalid_grant(sim: RunningSimulator) -> None:
    response = post_token(sim, grant_type="refresh_token", refresh_token=str(uuid.uuid4()), **CLIENT)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_still_works_after_all_access_tokens_were_expired(sim: RunningSimulator) -> None:
    code = code_from(authorize(sim))
    grant = post_token(
        sim, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, **CLIENT
    ).json()
    assert requests.post(sim.base_url + "/_sim/expire-tokens", timeout=HTTP_TIMEOUT).status_code == 200
    assert api_status(sim, grant["access_token"]) == 401
    refreshed = post_token(sim, grant_type="refresh_token", refresh_token=grant["refresh_token"], **CLIENT)
    assert refreshed.status_code == 200
    assert api_status(sim, refreshed.json()["access_token"]) == 200


def test_token_endpoint_answers_405_to_other_methods(sim: RunningSimulator) -> None:
    response = requests.put(sim.base_url + "/o/oauth/token", timeout=HTTP_TIMEOUT)
    assert response.status_code == 405


def test_token_endpoint_is_not_rate_limited_by_default(start_sim: Callable[..., RunningSimulator]) -> None:
    sim = start_sim(limit=2, window=30)
    statuses = [post_token(sim, grant_type="client_credentials", **CLIENT).status_code for _ in range(6)]
    assert statuses == [200] * 6
    assert "X-RateLimit-Limit" not in post_token(sim, grant_type="client_credentials", **CLIENT).headers


def test_token_endpoint_is_rate_limited_when_configured(start_sim: Callable[..., RunningSimulator]) -> None:
    sim = start_sim(limit=2, window=30, limit_token_endpoint=True)
    responses = [post_token(sim, grant_type="client_credentials", **CLIENT) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json() == {"result": 0, "msg": "Rate limit exceeded"}
    assert all(r.headers["X-RateLimit-Limit"] == "2" for r in responses)
    # Bad client credentials are not counted, and API calls now share the exhausted window.
    assert (
        post_token(sim, grant_type="client_credentials", client_id="x", client_secret="y").status_code == 401
    )


def test_static_token_is_accepted_until_expired_via_control_api(
    start_sim: Callable[..., RunningSimulator],
) -> None:
    sim = start_sim(static_token="fixed-demo-token")
    assert api_status(sim, "fixed-demo-token") == 200
    assert requests.post(sim.base_url + "/_sim/expire-tokens", timeout=HTTP_TIMEOUT).json()["expired"] >= 1
    assert api_status(sim, "fixed-demo-token") == 401


def test_expire_tokens_invalidates_issued_tokens(client: GearsClient) -> None:
    assert client.list_devices().status_code == 200
    assert client.control("POST", "expire-tokens").status_code == 200
    response = client.list_devices()
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
