"""Real passkey ceremonies in Chromium with its virtual authenticator (DevTools protocol), driven
through the app's passwordless page and the official ``passkeyClient``; no mocked
``navigator.credentials``. Also the magic-link and email-code journeys of that page.

The app is served as ``http://localhost:PORT``: WebAuthn refuses IP addresses as RP ids, and
``localhost`` is a secure context over http.
"""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import PageErrors, StaticServer
from tests.conftest import AppFactory
from tests.jsenv import ensure_node_modules
from tests.live_server import LiveServer, bound_server, serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery"
ALL_ON = {"AUTH__PASSKEY__ENABLED": "true", "AUTH__MAGIC_LINK__ENABLED": "true", "AUTH__EMAIL_OTP__ENABLED": "true"}


@pytest.fixture
def localhost_server(make_app: AppFactory, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """``localhost_server(**overrides)``: the app served with ``AUTH__BASE_URL=http://localhost:PORT``."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> LiveServer:
            server = stack.enter_context(bound_server())
            url = f"http://localhost:{server.server_port}"
            outbox = tmp_path / f"outbox-{server.server_port}.jsonl"
            app: Flask = make_app(
                MAIL__BACKEND="file", MAIL__FILE=str(outbox), AUTH__BASE_URL=url, **{**ALL_ON, **overrides}
            )
            stack.enter_context(serve(server, app))
            return LiveServer(url=url, app=app, outbox=outbox)

        yield start


def virtual_authenticator(context: BrowserContext, page: Page) -> tuple[Any, str]:
    """Chromium's virtual platform authenticator: internal transport, resident keys, user verification."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "ctap2Version": "ctap2_1",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def sign_up(page: Page, server: LiveServer) -> None:
    answer = page.context.request.post(
        f"{server.auth_url}/sign-up/email",
        data=json.dumps({"email": EMAIL, "password": PASSWORD, "name": "Ada"}),
        headers={"Content-Type": "application/json", "Origin": server.url},
    )
    assert answer.ok, answer.text()


def add_passkey(page: Page, name: str) -> None:
    page.get_by_label("Passkey name").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#passkey-status")).to_have_text("Passkey added.")
    expect(page.locator("#passkeys li", has_text=name)).to_have_count(1)


def sign_out(page: Page) -> None:
    page.locator("#sign-out").click()  # the page's own button (the header's is a form post)
    expect(page.locator("body")).to_have_attribute("data-state", "anonymous")


def session_email(page: Page, server: LiveServer) -> str | None:
    body: Any = page.context.request.get(f"{server.auth_url}/get-session").json()
    return body["user"]["email"] if body else None


def test_register_sign_out_and_sign_in_with_a_passkey(
    localhost_server: Callable[..., LiveServer], context: BrowserContext, page: Page, page_errors: PageErrors
) -> None:
    server = localhost_server()
    cdp, authenticator = virtual_authenticator(context, page)
    sign_up(page, server)
    page.goto(f"{server.url}/passwordless")
    expect(page.locator("#who")).to_have_text(EMAIL)
    add_passkey(page, "laptop")

    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1
    assert credentials[0]["isResidentCredential"] is True and credentials[0]["rpId"] == "localhost"
    listed = page.evaluate("window.authClient.passkey.listUserPasskeys().then(r => r.data)")
    assert [p["name"] for p in listed] == ["laptop"] and listed[0]["deviceType"] == "singleDevice"

    sign_out(page)
    assert session_email(page, server) is None
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("body")).to_have_attribute("data-state", "signed-in")
    expect(page.locator("#who")).to_have_text(EMAIL)
    assert session_email(page, server) == EMAIL
    counter = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"][0]["signCount"]
    stored = page.evaluate("window.authClient.passkey.listUserPasskeys().then(r => r.data[0].counter)")
    assert counter >= 1 and stored == counter  # the server kept the authenticator's counter

    # Rename through the page.
    page.get_by_label("Passkey name").fill("work laptop")
    page.get_by_role("button", name="Rename laptop").click()
    expect(page.locator("#passkeys li", has_text="work laptop")).to_have_count(1)
    assert page_errors == []


def test_conditional_ui_offers_the_passkey_in_the_email_field(
    localhost_server: Callable[..., LiveServer], context: BrowserContext, page: Page
) -> None:
    server = localhost_server()
    virtual_authenticator(context, page)
    sign_up(page, server)
    page.goto(f"{server.url}/passwordless")
    add_passkey(page, "laptop")
    sign_out(page)
    assert session_email(page, server) is None
    assert page.evaluate("PublicKeyCredential.isConditionalMediationAvailable()") is True
    # On load, the anonymous page asks for a passkey with mediation "conditional" (the email field is
    # autocomplete="username webauthn"); the virtual authenticator, with presence simulated, answers
    # as a user picking the passkey from the autofill list would. No button is pressed.
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-conditional", "waiting")
    expect(page.locator("body")).to_have_attribute("data-state", "signed-in", timeout=10_000)
    expect(page.locator("#who")).to_have_text(EMAIL)
    assert session_email(page, server) == EMAIL


def test_a_removed_passkey_is_refused(
    localhost_server: Callable[..., LiveServer], context: BrowserContext, page: Page
) -> None:
    server = localhost_server()
    cdp, authenticator = virtual_authenticator(context, page)
    sign_up(page, server)
    page.goto(f"{server.url}/passwordless")
    add_passkey(page, "laptop")
    page.get_by_role("button", name="Delete laptop").click()
    expect(page.locator("#passkey-status")).to_have_text("Passkey deleted.")
    expect(page.locator("#passkeys li")).to_have_count(0)
    sign_out(page)
    # The authenticator still holds the credential and signs; the server no longer knows it.
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
    result = page.evaluate("window.authClient.signIn.passkey().then(r => r.error)")
    assert (result["status"], result["code"]) == (401, "PASSKEY_NOT_FOUND")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("#sign-in-status")).to_have_text("Passkey not found")
    assert session_email(page, server) is None


_GET_ASSERTION = """async (options) => {
  const decode = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const encode = (b) =>
    btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const credential = await navigator.credentials.get({
    publicKey: { challenge: decode(options.challenge), rpId: options.rpId, userVerification: options.userVerification },
  });
  return {
    id: credential.id, rawId: encode(credential.rawId), type: credential.type, clientExtensionResults: {},
    response: {
      clientDataJSON: encode(credential.response.clientDataJSON),
      authenticatorData: encode(credential.response.authenticatorData),
      signature: encode(credential.response.signature),
      userHandle: credential.response.userHandle ? encode(credential.response.userHandle) : undefined,
    },
  };
}"""


def test_assertions_made_on_an_untrusted_origin_are_refused(
    localhost_server: Callable[..., LiveServer], context: BrowserContext, page: Page, static_server: StaticServer
) -> None:
    """A phishing page on another origin of the same host relays our options and its assertion."""
    server = localhost_server()
    virtual_authenticator(context, page)
    sign_up(page, server)
    page.goto(f"{server.url}/passwordless")
    add_passkey(page, "laptop")
    sign_out(page)

    evil = static_server(pages={"/login.html": "<!doctype html><title>Totally the app</title>"}, host="localhost")
    page.goto(f"{evil}/login.html")
    request = context.request
    options = request.get(f"{server.auth_url}/passkey/generate-authenticate-options")
    assertion = page.evaluate(_GET_ASSERTION, options.json())  # the real browser API, on the evil origin
    assert json.loads(_b64(assertion["response"]["clientDataJSON"]))["origin"] == evil
    refused = request.post(
        f"{server.auth_url}/passkey/verify-authentication",
        data=json.dumps({"response": assertion}),
        headers={"Content-Type": "application/json", "Origin": evil},
    )
    assert (refused.status, refused.json()["code"]) == (403, "INVALID_ORIGIN")
    # A relay that forges our Origin header is still refused: the origin is signed into clientDataJSON.
    options = request.get(f"{server.auth_url}/passkey/generate-authenticate-options")
    assertion = page.evaluate(_GET_ASSERTION, options.json())
    forged = request.post(
        f"{server.auth_url}/passkey/verify-authentication",
        data=json.dumps({"response": assertion}),
        headers={"Content-Type": "application/json", "Origin": server.url},
    )
    assert (forged.status, forged.json()["code"]) == (401, "AUTHENTICATION_FAILED")
    assert session_email(page, server) is None

    # The app's own page reached under another name: the browser refuses the RP id itself.
    other_name = server.url.replace("localhost", "127.0.0.1")
    page.goto(f"{other_name}/passwordless")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("#sign-in-status")).not_to_have_text("")
    assert page.locator("body").get_attribute("data-state") == "anonymous"


def _b64(value: str) -> str:
    import base64

    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()


def test_magic_link_and_email_code_from_the_page(
    localhost_server: Callable[..., LiveServer], page: Page, page_errors: PageErrors
) -> None:
    server = localhost_server()
    page.goto(f"{server.url}/passwordless")
    page.get_by_label("Email for a sign-in link").fill(EMAIL)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.locator("#link-status")).to_have_text("Check your mail for the sign-in link.")
    link = next(m for m in server.mails() if m["to"] == EMAIL)["url"]
    page.goto(link)
    expect(page).to_have_url(f"{server.url}/passwordless")
    expect(page.locator("#who")).to_have_text(EMAIL)
    sign_out(page)

    page.locator("#otp-email").fill(EMAIL)
    page.get_by_role("button", name="Email me a code").click()
    expect(page.locator("#otp-status")).to_have_text("Check your mail for the code.")
    mails = [m for m in server.mails() if m["to"] == EMAIL and "code" in m["subject"]]
    code = re.search(r"^(\d{6})$", mails[-1]["text"], re.MULTILINE)
    assert code
    page.get_by_label("Code").fill(code.group(1))
    page.get_by_role("button", name="Sign in with the code").click()
    expect(page.locator("#who")).to_have_text(EMAIL)
    assert page_errors == []


def test_the_page_is_404_while_every_plugin_is_off(localhost_server: Callable[..., LiveServer], page: Page) -> None:
    server = localhost_server(
        AUTH__PASSKEY__ENABLED="false", AUTH__MAGIC_LINK__ENABLED="false", AUTH__EMAIL_OTP__ENABLED="false"
    )
    assert page.goto(f"{server.url}/passwordless").status == 404


def test_the_committed_bundle_is_the_build_of_its_source(tmp_path: Path) -> None:
    ensure_node_modules()
    fresh = tmp_path / "passwordless.js"
    subprocess.run([str(ROOT / "scripts" / "build-web-client.sh"), str(fresh)], check=True, timeout=120)
    assert filecmp.cmp(fresh, ROOT / "app" / "web" / "static" / "passwordless.js", shallow=False), (
        "app/web/static/passwordless.js is stale: run scripts/build-web-client.sh"
    )


def _registered_attestation(server: LiveServer) -> list[str]:
    from sqlalchemy import select

    from app.extensions import db
    from app.modules.audit.models import AuditLog

    assert server.app.extensions["audit_logger"].flush(10)
    with server.app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "passkey.registered")).all()
        return [row.details["attestation"] for row in rows]


@pytest.mark.modules("audit")
@pytest.mark.parametrize(("setting", "statement"), [("none", "none"), ("direct", "packed")])
def test_attestation_none_by_default_direct_on_request(
    localhost_server: Callable[..., LiveServer], context: BrowserContext, page: Page, setting: str, statement: str
) -> None:
    server = localhost_server(
        AUTH__PASSKEY__ATTESTATION=setting, AUTH__PASSKEY__USER_VERIFICATION="required", MODULES__AUDIT="true"
    )
    virtual_authenticator(context, page)
    sign_up(page, server)
    page.goto(f"{server.url}/passwordless")
    add_passkey(page, "attested")
    # With "none" the browser sends no attestation statement; with "direct" Chromium's authenticator
    # signs a "packed" one with its attestation certificate, and the server verified it.
    assert _registered_attestation(server) == [statement]
    sign_out(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("#who")).to_have_text(EMAIL)
