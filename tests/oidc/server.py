"""An app with Keycloak federation against the test provider, served on a real port.

``make_oidc_server(**env)``: binds a port first (the provider must know the app's redirect URIs,
the app must know the provider's client id), registers a client at the provider, builds the app
with ``KEYCLOAK__*`` set, and serves it until the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.live_server import bound_server, serve
from tests.oidc.browser import Browser
from tests.oidc.provider import OidcProvider


@dataclass(frozen=True)
class OidcServer:
    url: str
    app: Flask
    provider: OidcProvider
    client_id: str

    @property
    def auth_url(self) -> str:
        return f"{self.url}/api/v1/auth"

    def browser(self) -> Browser:
        return Browser(app_url=self.url, issuer=self.provider.issuer)


OidcServerFactory = Callable[..., OidcServer]


@pytest.fixture
def make_oidc_server(make_app: Callable[..., Flask], oidc_provider: OidcProvider) -> Iterator[OidcServerFactory]:
    with ExitStack() as stack:

        def factory(**overrides: Any) -> OidcServer:
            server = stack.enter_context(bound_server())
            url = f"http://127.0.0.1:{server.server_port}"
            client_id, secret = oidc_provider.register_client(
                [f"{url}/api/v1/auth/callback/keycloak", f"{url}/api/v1/auth/oauth2/callback/keycloak"]
            )
            values: dict[str, Any] = {
                "AUTH__BASE_URL": url,
                "AUTH__RATE_LIMIT__ENABLED": "false",
                "KEYCLOAK__ENABLED": "true",
                "KEYCLOAK__ISSUER": oidc_provider.issuer,
                "KEYCLOAK__CLIENT_ID": client_id,
                "KEYCLOAK__CLIENT_SECRET": secret,
                **overrides,
            }
            app = make_app(**values)
            stack.enter_context(serve(server, app))
            return OidcServer(url=url, app=app, provider=oidc_provider, client_id=client_id)

        yield factory
