"""The two-factor OTP method: codes by mail, hashed at rest, single use, attempt-limited.

The wire protocol is compared with better-auth's in tests/conformance (send-otp, verify-otp on a
session and on a sign-in challenge, reuse, too many attempts); here what better-auth does not do.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.models import Verification
from tests.auth.helpers import PASSWORD, post, read_outbox, sign_in, sign_up
from tests.live_server import LiveServerFactory, make_live_server  # noqa: F401 - fixture


@pytest.fixture
def outbox(tmp_path: Path) -> str:
    return str(tmp_path / "outbox.jsonl")


@pytest.fixture
def otp_app(make_app: Any, outbox: str) -> Flask:
    app: Flask = make_app(MAIL__BACKEND="file", MAIL__FILE=outbox, AUTH__TWO_FACTOR__OTP_ENABLED="true")
    return app


def code_of(outbox: str, to: str, count: int) -> str:
    mail = read_outbox(outbox, to, count=count)[-1]
    found = re.search(r"\b\d{6}\b", mail["text"])
    assert found, mail
    return found.group(0)


def test_off_unless_configured(client: Any) -> None:
    sign_up(client, "a@example.com")
    for path in ("/two-factor/send-otp", "/two-factor/verify-otp"):
        response = post(client, path, {"code": "123456"})
        assert (response.status_code, response.json["code"]) == (400, "OTP_NOT_CONFIGURED")


def test_the_code_is_mailed_and_only_its_hmac_is_stored(otp_app: Flask, outbox: str) -> None:
    client = otp_app.test_client()
    sign_up(client, "a@example.com")
    assert post(client, "/two-factor/send-otp", {}).json == {"status": True}
    code = code_of(outbox, "a@example.com", 1)
    with otp_app.app_context():
        rows = db.session.scalars(select(Verification).where(Verification.identifier.like("2fa-otp:%"))).all()
        assert len(rows) == 1
        assert code not in rows[0].value and code not in rows[0].identifier
    # a second send replaces the first code
    assert post(client, "/two-factor/send-otp", {}).status_code == 200
    second = code_of(outbox, "a@example.com", 2)
    if second != code:
        assert post(client, "/two-factor/verify-otp", {"code": code}).json["code"] == "INVALID_CODE"
    assert post(client, "/two-factor/verify-otp", {"code": second}).status_code == 200


def test_sign_in_attempts_count_against_the_challenge(otp_app: Flask, outbox: str) -> None:
    client = otp_app.test_client()
    sign_up(client, "a@example.com")
    post(client, "/two-factor/send-otp", {})
    assert post(client, "/two-factor/verify-otp", {"code": code_of(outbox, "a@example.com", 1)}).status_code == 200
    other = otp_app.test_client()
    assert sign_in(other, "a@example.com", PASSWORD).json["twoFactorMethods"] == ["otp"]
    # five wrong codes spread over fresh codes still end the challenge (max_attempts per challenge)
    answers = []
    for n in range(6):
        post(other, "/two-factor/send-otp", {})
        code = code_of(outbox, "a@example.com", 2 + n)
        answers.append(post(other, "/two-factor/verify-otp", {"code": "000000" if code != "000000" else "111111"}))
    assert [r.status_code for r in answers[:5]] == [401] * 5
    assert answers[5].json["code"] == "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE"
    assert post(other, "/two-factor/send-otp", {}).json["code"] == "INVALID_TWO_FACTOR_COOKIE"


def test_a_code_is_accepted_once_under_concurrency(make_live_server: LiveServerFactory) -> None:  # noqa: F811
    server = make_live_server(AUTH__TWO_FACTOR__OTP_ENABLED="true")
    session = requests.Session()
    headers = {"Origin": server.url}
    assert session.post(f"{server.auth_url}/sign-up/email", json={"email": "c@example.com", "password": PASSWORD,
                        "name": "C"}, headers=headers, timeout=10).status_code == 200
    session.post(f"{server.auth_url}/two-factor/send-otp", json={}, headers=headers, timeout=10)
    code = code_of(str(server.outbox), "c@example.com", 1)
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def verify() -> None:
        barrier.wait()
        statuses.append(session.post(f"{server.auth_url}/two-factor/verify-otp", json={"code": code},
                                     headers=headers, timeout=10).status_code)

    threads = [threading.Thread(target=verify) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 400, 400, 400]
