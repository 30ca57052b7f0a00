"""Property-based tests of every operation of the OpenAPI document, with schemathesis (issue 14 item 3).

Generated bodies, queries and path parameters go to every operation of ``/api/v1/openapi.json``,
as an anonymous caller, as a signed-in user (member of an organization, with a project) and as a
platform admin. Every answer must be:

- no 5xx (``not_a_server_error``);
- a status the document lists for the operation, with a body and content type that match it;
- on a 4xx, better-auth's error body ``{"code", "message"}``.

CI runs few examples per operation with a fixed seed (``FUZZ_EXAMPLES``, default 5; ``derandomize``
makes every run try the same inputs). Before a release run more, e.g.
``FUZZ_EXAMPLES=200 FUZZ_SEED=random .venv/bin/pytest -n 2 tests/security/test_fuzz_openapi.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks

from tests.conftest import BACKEND, BASE_OVERRIDES, module_present

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
RANDOM = os.environ.get("FUZZ_SEED") == "random"
PASSWORD = "correct horse battery"
ORIGIN = "http://localhost"
APP_SETTINGS = {
    # every module present (the document is built at import: a deleted module must not break collection)
    **{f"MODULES__{name.upper()}": "true" for name in ("tenant", "example", "audit") if module_present(name)},
    "AUTH__LOCKOUT__ENABLED": "false",
    # Every optional route on, so that each one is fuzzed (off, they answer 404 like unknown paths).
    "AUTH__DELETE_USER__ENABLED": "true",
    "AUTH__PASSKEY__ENABLED": "true",
    "AUTH__MAGIC_LINK__ENABLED": "true",
    "AUTH__EMAIL_OTP__ENABLED": "true",
    "AUTH__TWO_FACTOR__OTP_ENABLED": "true",
    "AUTH__ORGANIZATION__TEAMS__ENABLED": "true",
}


@pytest.fixture(scope="module")
def fuzz_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app for the whole module (an app per operation would cost more than the fuzzing)."""
    from app import create_app
    from app.modules import close_modules, ensure_ready

    if BACKEND == "postgres":
        url = request.getfixturevalue("pg_database")
    else:
        path = tmp_path_factory.mktemp("fuzz") / "app.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    app = create_app({**BASE_OVERRIDES, **APP_SETTINGS, "DATABASE_URL": url})
    ensure_ready(app)
    yield app
    close_modules(app)


def _bearer(app: Flask, email: str, *, role: str) -> str:
    """Sign ``email`` up (with ``role``, an organization and a project) and return its bearer token."""
    from sqlalchemy import update

    from app.extensions import db
    from app.modules.auth.models import User

    client = app.test_client()
    signed_up = client.post(
        "/api/v1/auth/sign-up/email",
        json={"name": "Fuzz", "email": email, "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert signed_up.status_code == 200, signed_up.json
    if role != "user":
        with app.app_context():
            db.session.execute(update(User).where(User.email == email).values(role=role))
            db.session.commit()
    answer = client.post(
        "/api/v1/auth/sign-in/email", json={"email": email, "password": PASSWORD}, headers={"Origin": ORIGIN}
    )
    assert answer.status_code == 200, answer.json
    token: str = answer.json["token"]
    auth = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
    slug = email.split("@")[0]
    client.post("/api/v1/auth/organization/create", json={"name": slug, "slug": slug}, headers=auth)
    client.post("/api/v1/projects", json={"name": "fuzzed"}, headers=auth)
    return token


def _identities(app: Flask, label: str) -> dict[str, str]:
    """Bearer tokens of a fresh user and a fresh platform admin, once per operation: a generated
    request may end a session, change a password or delete the account."""
    cache: dict[str, dict[str, str]] = app.config.setdefault("_fuzz_identities", {})
    if label not in cache:
        number = len(cache)
        cache[label] = {
            "user": _bearer(app, f"fuzz-user-{number}@example.com", role="user"),
            "admin": _bearer(app, f"fuzz-admin-{number}@example.com", role="admin"),
        }
    return cache[label]


def _document() -> dict[str, Any]:
    """The OpenAPI document of an app with every module on (built from its routes; no database used)."""
    from app import create_app
    from app.core.openapi import build_document

    app = create_app({**BASE_OVERRIDES, **APP_SETTINGS, "DATABASE_URL": "sqlite://"})
    return build_document(app)


schema = schemathesis.openapi.from_dict(_document())


def error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx answers better-auth's error body: ``{"code": str, "message": str}``."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict), body
        assert isinstance(body.get("code"), str) and isinstance(body.get("message"), str), body
    return None


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    error_envelope,
]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=not RANDOM,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],  # schemathesis' coverage phase is the release run's (FUZZ_SEED=random)
)
def test_every_operation_answers_as_documented(case: Any, fuzz_app: Flask) -> None:
    """Each generated request is sent three times: anonymous, as the user, as the admin."""
    tokens = _identities(fuzz_app, case.operation.label)
    for who in ("anonymous", "user", "admin"):
        headers = {"Origin": ORIGIN}
        if who != "anonymous":
            headers["Authorization"] = f"Bearer {tokens[who]}"
        case.call_and_validate(app=fuzz_app, headers=headers, checks=CHECKS)
