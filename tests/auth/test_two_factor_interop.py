"""Our TOTP against implementations we did not write: Debian's ``oathtool`` and better-auth itself.

- ``oathtool`` (liboath, RFC 6238) computes the codes our server must accept for a secret we made.
- A real better-auth 1.7.25 server (node, memory adapter) enables 2FA for a user; its stored row
  (XChaCha20-encrypted secret and backup codes) is put in our database as a migration would, and
  our server must accept better-auth's own current code and its backup codes, and serve the same URI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.crypto import generate_id
from app.modules.auth.models import User
from app.modules.auth.two_factor.models import TwoFactor
from tests.auth.helpers import PASSWORD, post, sign_in, sign_up
from tests.conftest import TEST_SECRET
from tests.jsenv import run_node

OATHTOOL = shutil.which("oathtool")


def oathtool(base32_secret: str, seconds_ahead: int = 0) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + seconds_ahead))
    assert OATHTOOL
    result = subprocess.run([OATHTOOL, "--totp", "-b", "-N", when, base32_secret], capture_output=True, text=True,
                            check=True, timeout=10)
    return result.stdout.strip()


@pytest.mark.skipif(OATHTOOL is None, reason="needs oathtool (apt-get install -y oathtool)")
def test_codes_from_oathtool_are_accepted_once(app: Flask, client: FlaskClient) -> None:
    sign_up(client, "ada@example.com")
    uri = post(client, "/two-factor/enable", {"password": PASSWORD}).json["totpURI"]
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    padded = secret + "=" * (-len(secret) % 8)

    assert post(client, "/two-factor/verify-totp", {"code": oathtool(padded)}).status_code == 200
    browser = app.test_client()
    assert sign_in(browser, "ada@example.com").json["twoFactorRedirect"] is True
    next_code = oathtool(padded, 30)
    assert post(browser, "/two-factor/verify-totp", {"code": next_code}).status_code == 200
    other = app.test_client()
    sign_in(other, "ada@example.com")
    assert post(other, "/two-factor/verify-totp", {"code": next_code}).json["code"] == "INVALID_CODE"
    # A code three steps away is outside the ±1 window.
    assert post(other, "/two-factor/verify-totp", {"code": oathtool(padded, 120)}).json["code"] == "INVALID_CODE"


@pytest.mark.node
def test_a_row_better_auth_produced_works_here(app: Flask, client: FlaskClient) -> None:
    made = run_node("two-factor-flows.mjs", "http://unused", "better-auth-row", TEST_SECRET)
    user_id = sign_up(client, "ba@example.com")["user"]["id"]
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        user.two_factor_enabled = True
        db.session.add(TwoFactor(id=generate_id(), user_id=user_id, secret=made["row"]["secret"],
                                 backup_codes=made["row"]["backupCodes"], verified=True))
        db.session.commit()

    got = post(client, "/two-factor/get-totp-uri", {"password": PASSWORD}).json["totpURI"]
    ours, theirs = urlsplit(got), urlsplit(made["totpURI"])
    assert parse_qs(ours.query)["secret"] == parse_qs(theirs.query)["secret"]

    browser = app.test_client()
    assert sign_in(browser, "ba@example.com").json["twoFactorRedirect"] is True
    response = post(browser, "/two-factor/verify-totp", {"code": made["code"]})
    assert response.status_code == 200, response.json

    backup = app.test_client()
    sign_in(backup, "ba@example.com")
    assert post(backup, "/two-factor/verify-backup-code", {"code": made["backupCodes"][3]}).status_code == 200
    with app.app_context():
        stored = db.session.scalar(select(TwoFactor.backup_codes))
    assert stored is not None
    digests = json.loads(stored)  # rewritten hashed: better-auth's encrypted list is gone
    assert len(digests) == 9 and not any(c in stored for c in made["backupCodes"])
    again = app.test_client()
    sign_in(again, "ba@example.com")
    assert post(again, "/two-factor/verify-backup-code", {"code": made["backupCodes"][3]}).json["code"] == (
        "INVALID_BACKUP_CODE"
    )
    assert post(again, "/two-factor/verify-backup-code", {"code": made["backupCodes"][4]}).status_code == 200
