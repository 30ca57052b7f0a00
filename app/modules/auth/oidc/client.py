"""The OAuth 2.0 client side of the flow, with Authlib: the authorization URL and the code exchange.

RFC 6749 §4.1 (authorization code grant) with PKCE S256 (RFC 7636 §4.2: the verifier never leaves
the server, the provider sees only its SHA-256) and the OIDC ``nonce`` (Core §3.1.2.1). The client
authenticates with ``client_secret_post``, better-auth's default for generic providers. The
``redirect_uri`` of the token request is the one of the authorization request (RFC 6749 §4.1.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.integrations.requests_client import OAuth2Session

TIMEOUT = 10.0


class TokenExchangeError(RuntimeError):
    """The token endpoint refused the code (spent, expired, wrong verifier) or did not answer."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


def _session(config: ClientConfig, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scope=" ".join(config.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name, not a secret
    )


def authorization_url(
    config: ClientConfig, endpoint: str, *, redirect_uri: str, state: str, code_verifier: str, nonce: str
) -> str:
    """The provider's authorize URL for this flow (``response_type=code``, S256 challenge, nonce)."""
    with _session(config, redirect_uri) as session:
        url, _ = session.create_authorization_url(endpoint, state=state, code_verifier=code_verifier, nonce=nonce)
    return str(url)


def exchange_code(
    config: ClientConfig, endpoint: str, *, code: str, code_verifier: str, redirect_uri: str
) -> dict[str, Any]:
    """Trade the code for tokens; raises :class:`TokenExchangeError`."""
    try:
        with _session(config, redirect_uri) as session:
            token = session.fetch_token(
                endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                timeout=TIMEOUT,
            )
    except Exception as error:  # noqa: BLE001 - Authlib raises OAuthError, requests its own: same outcome
        raise TokenExchangeError(f"{type(error).__name__}: {error}") from None
    if not isinstance(token, dict) or not token.get("access_token"):
        raise TokenExchangeError("the token response has no access_token")
    return dict(token)


def fetch_userinfo(endpoint: str, access_token: str) -> dict[str, Any]:
    """The UserInfo claims (OIDC Core §5.3); raises on any failure."""
    import requests

    response = requests.get(
        endpoint, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}, timeout=TIMEOUT
    )
    response.raise_for_status()
    claims = response.json()
    if not isinstance(claims, dict):
        raise ValueError("userinfo is not a JSON object")
    return claims


def refresh_tokens(config: ClientConfig, endpoint: str, refresh_token: str) -> dict[str, Any]:
    """A refresh grant (RFC 6749 §6); raises :class:`TokenExchangeError`. The provider may rotate the
    refresh token (RFC 9700 §4.14.2): the caller keeps the old one only when no new one comes back."""
    try:
        with _session(config, "") as session:
            token = session.refresh_token(endpoint, refresh_token=refresh_token, timeout=TIMEOUT)
    except Exception as error:  # noqa: BLE001 - Authlib raises OAuthError, requests its own: same outcome
        raise TokenExchangeError(f"{type(error).__name__}: {error}") from None
    if not isinstance(token, dict) or not token.get("access_token"):
        raise TokenExchangeError("the token response has no access_token")
    return dict(token)
