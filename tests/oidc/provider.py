"""A real OpenID provider for the tests: ``tests/js/oidc-provider.mjs`` (the certified ``oidc-provider``).

One node process per test session (per xdist worker); each test registers its own client (OpenID
Connect Dynamic Client Registration) with the redirect URIs of its own app, and sets the accounts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.jsenv import JS_DIR, ensure_node_modules


@dataclass
class OidcProvider:
    issuer: str
    process: subprocess.Popen[str]

    def register_client(self, redirect_uris: list[str]) -> tuple[str, str]:
        """A new confidential client (client_secret_post); returns (client_id, client_secret)."""
        response = requests.post(
            f"{self.issuer}/reg",
            json={
                "redirect_uris": redirect_uris,
                "response_types": ["code"],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "client_secret_post",
            },
            timeout=10,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return body["client_id"], body["client_secret"]

    def set_accounts(self, accounts: dict[str, dict[str, Any]]) -> None:
        """Replace the provider's accounts ({login: claims}); the next token carries the new claims."""
        response = requests.put(f"{self.issuer}/admin/accounts", json=accounts, timeout=10)
        assert response.status_code == 200, response.text


def _drain(stream: Any) -> None:
    for _ in stream:  # keep the pipe from filling up; the provider's logs are not needed
        pass


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    node = shutil.which("node")
    if not node or not shutil.which("npm"):
        pytest.skip("needs node and npm (the OpenID provider)")
    ensure_node_modules()
    process = subprocess.Popen(
        [node, str(JS_DIR / "oidc-provider.mjs")],
        cwd=JS_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        raise AssertionError(f"the OpenID provider did not start:\n{process.stderr.read()}")
    threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
    threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
    try:
        yield OidcProvider(issuer=json.loads(line)["issuer"], process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
