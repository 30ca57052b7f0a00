"""better-auth's cookies, byte for byte (reference §1.1, §1.2, §1.6).

``better-auth.session_token`` carries ``token.base64(HMAC-SHA256(secret, token))``, URL-encoded as
JavaScript's ``encodeURIComponent`` does, ``HttpOnly; SameSite=Lax; Path=/``, plus ``Secure`` and the
``__Secure-`` prefix over HTTPS (RFC 6265bis §4.1.3.1). A response that sets a session also sends
``set-auth-token`` for bearer clients (better-auth's bearer plugin).

A signature this process verified once is remembered (the signed string -> its value, bounded, per
secret): the same bytes under the same secret always verify the same way, so the HMAC is computed
once per token and process. Only what verified is remembered, and remembering it grants nothing:
whether the session behind the token still lives is decided afresh on every request
(:mod:`app.modules.auth.sessions`, checked against the revocation sequence).
"""

from __future__ import annotations

from flask import Request, current_app
from werkzeug.wrappers import Response

from app.modules.auth.crypto import cookie_decode, cookie_encode, sign_value, unsign_value
from config import Settings

SESSION_TOKEN = "session_token"  # noqa: S105 - a cookie name
SESSION_DATA = "session_data"
DONT_REMEMBER = "dont_remember"
AUTH_TOKEN_HEADER = "set-auth-token"  # noqa: S105 - a header name
_VERIFIED = "auth.cookies.verified"
_NAMES = "auth.cookies.names"
#: How many verified signed values a process remembers (the oldest goes first).
VERIFIED_CACHE_SIZE = 10_000
_LONGEST_REMEMBERED = 1024


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _secret() -> str:
    secret = _settings().auth.secret
    if not secret:  # load_settings always provides one when auth is on
        raise RuntimeError("AUTH__SECRET is not set")
    return secret


def secure_cookies() -> bool:
    settings = _settings()
    if settings.auth.secure_cookies is not None:
        return bool(settings.auth.secure_cookies)
    return bool(settings.base_url.startswith("https://"))


def cookie_name(short: str) -> str:
    settings = _settings()
    names: tuple[Settings, dict[str, str]] | None = current_app.extensions.get(_NAMES)
    if names is None or names[0] is not settings:  # computed once per settings object
        names = (settings, {})
        current_app.extensions[_NAMES] = names
    name = names[1].get(short)
    if name is None:
        name = f"{settings.auth.cookie_prefix}.{short}"
        name = f"__Secure-{name}" if secure_cookies() else name
        names[1][short] = name
    return name


def same_site() -> str:
    """``Lax`` (better-auth's default), ``Strict``, or ``None`` for a front end on another site
    (``AUTH__COOKIE_SAME_SITE``; config.py refuses ``none`` without Secure, RFC 6265bis §5.4.7)."""
    return _settings().auth.cookie_same_site.capitalize()


def _attributes(max_age: int | None) -> str:
    parts = []
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    parts += ["Path=/", "HttpOnly", f"SameSite={same_site()}"]
    if secure_cookies():
        parts.append("Secure")
    return "; ".join(parts)


def expose_header(response: Response, header: str) -> None:
    existing = response.headers.get("Access-Control-Expose-Headers")
    names = [h.strip() for h in existing.split(",")] if existing else []
    if header not in names:
        names.append(header)
    response.headers["Access-Control-Expose-Headers"] = ", ".join(names)


def set_signed_cookie(response: Response, short: str, value: str, max_age: int | None) -> None:
    signed = sign_value(value, _secret())
    response.headers.add("Set-Cookie", f"{cookie_name(short)}={cookie_encode(signed)}; {_attributes(max_age)}")


def delete_cookie(response: Response, short: str) -> None:
    response.headers.add(
        "Set-Cookie",
        f"{cookie_name(short)}=; Max-Age=0; Path=/; HttpOnly; SameSite={same_site()}"
        + ("; Secure" if secure_cookies() else ""),
    )


def set_session_cookie(response: Response, token: str, *, dont_remember: bool) -> None:
    """Put a session in the response: the cookie, and ``set-auth-token`` for bearer clients."""
    settings = _settings()
    max_age = None if dont_remember else settings.auth.session.expires_in
    set_signed_cookie(response, SESSION_TOKEN, token, max_age)
    if dont_remember:
        set_signed_cookie(response, DONT_REMEMBER, "true", None)
    response.headers[AUTH_TOKEN_HEADER] = sign_value(token, _secret())
    expose_header(response, AUTH_TOKEN_HEADER)


def clear_session_cookies(response: Response) -> None:
    for short in (SESSION_TOKEN, SESSION_DATA, DONT_REMEMBER):
        delete_cookie(response, short)


def _unsign(raw: str) -> str | None:
    """``unsign_value(cookie_decode(raw))``, from this process's memory when it verified ``raw``."""
    secret = _secret()
    held: tuple[str, dict[str, str]] | None = current_app.extensions.get(_VERIFIED)
    if held is None or held[0] != secret:
        held = (secret, {})
        current_app.extensions[_VERIFIED] = held
    verified = held[1]
    value = verified.get(raw)
    if value is not None:
        return value
    value = unsign_value(cookie_decode(raw), secret)
    if value is not None and len(raw) <= _LONGEST_REMEMBERED:
        if len(verified) >= VERIFIED_CACHE_SIZE:
            try:
                verified.pop(next(iter(verified)), None)
            except (StopIteration, RuntimeError):  # another thread changed it meanwhile
                pass
        verified[raw] = value
    return value


def read_signed_cookie(request: Request, short: str) -> str | None:
    raw = request.cookies.get(cookie_name(short))
    if not raw:
        return None
    return _unsign(raw)


def token_from_request(request: Request) -> tuple[str | None, str | None]:
    """The session token the request presents and where: ("bearer"|"cookie"), or (None, None).

    An ``Authorization: Bearer`` header is an explicit credential and wins over the ambient cookie,
    as in better-auth (its bearer plugin replaces the cookie with the header's token): with a bearer
    header the cookie is never read, and a bearer that does not verify gives ``(None, "bearer")``.
    A bearer token may be signed (``token.sig``, URL-encoded or not) or the raw token.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        raw = value.strip()
        value = cookie_decode(raw)
        if "." in value:
            return _unsign(raw), "bearer"
        return value, "bearer"
    token = read_signed_cookie(request, SESSION_TOKEN)
    if token:
        return token, "cookie"
    return None, None
