"""Bad input must be answered 4xx with ``{code, message}``, never 500.

Three families reached an unhandled database or datetime error (found by review, now fixed):

- NUL characters (``\\u0000``) in any string that is stored or compared: PostgreSQL text cannot hold
  them (``psycopg.DataError``). Pydantic accepts them; nothing strips or refuses them.
- ``offset`` (and the audit cursor id) with no upper bound: past 2**63-1 PostgreSQL answers
  ``bigint out of range``.
- Values checked against the API's own bounds but not the column's (admin ``data`` strings are
  allowed 5000 characters, ``name``/``firstname``/``lastname`` are ``varchar(255)``), dates that
  overflow (``banExpires: 1e20``, audit ``after=0001-01-01T00:00:00+14:00``) or are naive
  (list-users ``filterValue=2020-01-01`` on a date column).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from tests.auth.helpers import ORIGIN, PASSWORD, post, sign_in, sign_up
from tests.conftest import AppFactory

pytestmark = pytest.mark.modules("tenant", "audit", "example")

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "root password 123"
BIG = 2**63


def _answered_4xx(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.json)
    assert set(response.json) >= {"code", "message"}


@pytest.fixture
def env(make_app: AppFactory) -> dict[str, Any]:
    app = make_app(
        MODULES__AUDIT="true", MODULES__TENANT="true", MODULES__EXAMPLE="true",
        ADMIN__EMAIL=ADMIN_EMAIL, ADMIN__PASSWORD=ADMIN_PASSWORD
    )
    user = app.test_client()
    user_id = sign_up(user, "ada@example.com")["user"]["id"]
    org = post(user, "/organization/create", {"name": "Acme", "slug": "acme"}).json["id"]
    root = app.test_client()
    assert sign_in(root, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    return {"app": app, "user": user, "user_id": user_id, "org": org, "root": root}


Call = Callable[[dict[str, Any]], Any]
NUL = "x\x00y"

CASES: dict[str, Call] = {
    # anonymous
    "sign-up name with NUL": lambda e: (
        e["app"]
        .test_client()
        .post(
            "/api/v1/auth/sign-up/email",
            json={"name": NUL, "email": "nul@example.com", "password": PASSWORD},
            headers=ORIGIN,
        )
    ),
    # any signed-in user
    "update-user bio with NUL": lambda e: post(e["user"], "/update-user", {"bio": NUL}),
    "revoke-session token with NUL": lambda e: post(e["user"], "/revoke-session", {"token": NUL}),
    "organization/create name with NUL": lambda e: post(
        e["user"], "/organization/create", {"name": NUL, "slug": "nul"}
    ),
    "organization/get-invitation id with NUL": lambda e: e["user"].get(
        "/api/v1/auth/organization/get-invitation", query_string={"id": NUL}
    ),
    "projects create name with NUL": lambda e: e["user"].post("/api/v1/projects", json={"name": NUL}, headers=ORIGIN),
    "projects get id with NUL": lambda e: e["user"].get("/api/v1/projects/a%00b"),
    "organization/list-members offset 2**63": lambda e: e["user"].get(
        "/api/v1/auth/organization/list-members", query_string={"offset": BIG}
    ),
    "api-key/list offset 2**63": lambda e: e["user"].get("/api/v1/auth/api-key/list", query_string={"offset": BIG}),
    "audit cursor id past bigint": lambda e: e["user"].get(
        "/api/v1/audit", query_string={"cursor": base64.urlsafe_b64encode(b"audit:" + b"9" * 40).decode().rstrip("=")}
    ),
    # platform admin
    "admin/update-user firstname of 300 chars": lambda e: post(
        e["root"], "/admin/update-user", {"userId": e["user_id"], "data": {"firstname": "x" * 300}}
    ),
    "admin/update-user name of 300 chars": lambda e: post(
        e["root"], "/admin/update-user", {"userId": e["user_id"], "data": {"name": "x" * 300}}
    ),
    "admin/create-user lastname of 400 chars": lambda e: post(
        e["root"],
        "/admin/create-user",
        {"email": "new@example.com", "name": "n", "password": PASSWORD, "data": {"lastname": "y" * 400}},
    ),
    "admin/list-users offset 2**63": lambda e: e["root"].get(
        "/api/v1/auth/admin/list-users", query_string={"offset": BIG}
    ),
}

CASES["admin/update-user banExpires 1e20"] = lambda e: post(
    e["root"], "/admin/update-user", {"userId": e["user_id"], "data": {"banExpires": 1e20}}
)

#: Odd but meaningful dates: a date without a zone is UTC, an instant before year 1 in UTC is the
#: earliest there is. Answered, not refused, and never a 500.
ODD_DATES: dict[str, Call] = {
    "admin/list-users naive date filter": lambda e: e["root"].get(
        "/api/v1/auth/admin/list-users", query_string={"filterField": "createdAt", "filterValue": "2020-01-01"}
    ),
    "audit after year 1 at +14:00": lambda e: e["user"].get(
        "/api/v1/audit", query_string={"after": "0001-01-01T00:00:00+14:00"}
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_a_4xx(env: dict[str, Any], case: str) -> None:
    _answered_4xx(CASES[case](env))


@pytest.mark.parametrize("case", list(ODD_DATES))
def test_odd_dates_are_answered(env: dict[str, Any], case: str) -> None:
    response = ODD_DATES[case](env)
    assert response.status_code == 200, (response.status_code, response.json)
