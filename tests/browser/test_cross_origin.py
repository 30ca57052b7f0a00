"""A single-page app on another origin, in a real Chromium, with the official client (CORS).

The app serves the API on ``http://127.0.0.1:<port A>``; the page comes from ``http://127.0.0.1:<port B>``
(another origin, the same site, so ``SameSite=Lax`` cookies travel with ``credentials: "include"``)
and loads ``better-auth/client`` bundled with esbuild. It signs up, signs in, reads the session,
calls a guarded application route and signs out, once with cookies and once in bearer mode (no
cookies at all: the token from the exposed ``set-auth-token`` header). A page from an origin that
is not trusted is refused by the browser (no CORS headers) and by the server (origin check).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import PageErrors, StaticServer
from tests.jsenv import JS_DIR, ensure_node_modules
from tests.live_server import LiveServer, LiveServerFactory

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>SPA</title>
<script src="/client.js"></script></head><body><p id="ready">ready</p></body></html>"""

#: Runs in the page: the whole flow through the official client, plus one fetch of an app route.
FLOW = """
async ({ api, email, password, mode }) => {
  let token = null;
  const seen = [];
  const fetchOptions = {
    onSuccess: (ctx) => {
      const t = ctx.response.headers.get("set-auth-token");
      if (t) { token = t; seen.push(ctx.request.url.toString().split("/api/v1/auth")[1]); }
    },
  };
  if (mode === "bearer") {
    fetchOptions.credentials = "omit";
    fetchOptions.auth = { type: "Bearer", token: () => token || "" };
  } else {
    fetchOptions.credentials = "include";
  }
  const client = window.createAuthClient({ baseURL: api + "/api/v1/auth", fetchOptions });
  const me = async () => {
    const init = mode === "bearer"
      ? { credentials: "omit", headers: token ? { authorization: "Bearer " + token } : {} }
      : { credentials: "include" };
    try {
      const r = await fetch(api + "/api/v1/me", init);
      return { status: r.status, email: (await r.json()).user?.email ?? null };
    } catch (e) {
      return { status: 0, email: null };  // refused by the browser (CORS)
    }
  };
  const call = async (fn) => {
    try { return await fn(); } catch (e) { return { data: null, error: { status: 0, code: "FETCH_FAILED" } }; }
  };
  const short = (r) => ({ error: r.error ? { status: r.error.status, code: r.error.code ?? null } : null,
                          email: r.data?.user?.email ?? null });
  const out = {};
  out.signUp = short(await call(() => client.signUp.email({ email, password, name: "Spa" })));
  out.signOutAfterSignUp = short(await call(() => client.signOut()));
  if (mode === "bearer") token = null;
  out.sessionSignedOut = short(await call(() => client.getSession()));
  out.signIn = short(await call(() => client.signIn.email({ email, password })));
  out.session = short(await call(() => client.getSession()));
  out.me = await me();
  out.signOut = short(await call(() => client.signOut()));
  out.sessionAfterSignOut = short(await call(() => client.getSession()));
  out.meAfterSignOut = await me();
  out.tokenSeenOn = seen;
  out.cookies = document.cookie;
  return out;
}
"""


@pytest.fixture(scope="module")
def client_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``better-auth/client`` bundled for the browser by esbuild (from tests/js/package.json)."""
    ensure_node_modules()
    directory = tmp_path_factory.mktemp("spa")
    esbuild = JS_DIR / "node_modules" / ".bin" / "esbuild"
    assert esbuild.exists(), "esbuild is in tests/js/package.json"
    subprocess.run(
        [str(esbuild), "spa-client.mjs", "--bundle", "--format=iife", "--platform=browser",
         f"--outfile={directory / 'client.js'}", "--log-level=warning"],
        cwd=JS_DIR, check=True, timeout=120,
    )
    return directory


def _spa(static_server: StaticServer, bundle: Path, tmp_path: Path) -> str:
    directory = tmp_path / f"spa-{len(list(tmp_path.iterdir()))}"
    directory.mkdir()
    shutil.copy(bundle / "client.js", directory / "client.js")
    return static_server(directory=directory, pages={"/": PAGE, "/index.html": PAGE})


def _run_flow(page: Page, spa: str, server: LiveServer, email: str, mode: str) -> dict[str, Any]:
    page.goto(f"{spa}/")
    page.wait_for_function("typeof window.createAuthClient === 'function'")
    result: dict[str, Any] = page.evaluate(
        FLOW, {"api": server.url, "email": email, "password": PASSWORD, "mode": mode}
    )
    return result


@pytest.mark.parametrize("mode", ["cookies", "bearer"])
def test_spa_on_another_origin_signs_up_in_and_out(
    make_live_server: LiveServerFactory,
    static_server: StaticServer,
    client_bundle: Path,
    tmp_path: Path,
    page: Page,
    page_errors: PageErrors,
    mode: str,
) -> None:
    spa = _spa(static_server, client_bundle, tmp_path)
    server = make_live_server(AUTH__TRUSTED_ORIGINS=spa)
    email = f"spa-{mode}@example.com"

    out = _run_flow(page, spa, server, email, mode)

    assert out["signUp"] == {"error": None, "email": email}
    assert out["signOutAfterSignUp"]["error"] is None
    assert out["sessionSignedOut"] == {"error": None, "email": None}
    assert out["signIn"] == {"error": None, "email": email}
    assert out["session"] == {"error": None, "email": email}
    assert out["me"] == {"status": 200, "email": email}
    assert out["signOut"]["error"] is None
    assert out["sessionAfterSignOut"] == {"error": None, "email": None}
    assert out["meAfterSignOut"]["status"] == 401
    # set-auth-token is exposed to the page's script (sign-up and sign-in both send it)
    assert out["tokenSeenOn"][:2] == ["/sign-up/email", "/sign-in/email"]
    assert out["cookies"] == ""  # HttpOnly, and on the API's origin anyway
    jar = {c["name"] for c in page.context.cookies(server.url)}
    if mode == "bearer":
        assert "better-auth.session_token" not in jar  # credentials "omit": no cookie ever stored
    assert not page_errors


def test_spa_on_an_untrusted_origin_is_refused(
    make_live_server: LiveServerFactory,
    static_server: StaticServer,
    client_bundle: Path,
    tmp_path: Path,
    page: Page,
) -> None:
    trusted = _spa(static_server, client_bundle, tmp_path)
    untrusted = _spa(static_server, client_bundle, tmp_path)
    server = make_live_server(AUTH__TRUSTED_ORIGINS=trusted)

    out = _run_flow(page, untrusted, server, "evil-spa@example.com", "cookies")

    # the preflight gets no CORS headers: the browser never sends the sign-up, the client gets no answer
    assert out["signUp"]["email"] is None and out["signUp"]["error"] is not None
    assert out["signIn"]["email"] is None and out["signIn"]["error"] is not None
    assert out["session"]["email"] is None and out["session"]["error"] is not None
    assert out["me"] == {"status": 0, "email": None}
    with server.app.app_context():
        from app.modules.auth.models import User

        assert User.query.filter_by(email="evil-spa@example.com").count() == 0
