"""``@better-auth/passkey`` routes under ``/api/v1/auth/passkey/*`` (paths, answers, codes of 1.7).

Where we differ on purpose, the client still works: a credential that fails verification is a
400/401 with better-auth's code, never its 500; the expected origins are the configured ones, not
whatever ``Origin`` the request carries; an assertion without user verification does not skip a
user's second factor. See :mod:`.ceremony` for the WebAuthn sections followed.
"""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.crypto import generate_id
from app.modules.auth.identity import resolve_identity
from app.modules.auth.models import User, utcnow
from app.modules.auth.passkey import challenges, store
from app.modules.auth.passkey import schemas as s
from app.modules.auth.passkey.ceremony import (
    AUTHENTICATION_FAILED,
    authentication_options,
    registration_options,
    verify_assertion,
    verify_registration,
)
from app.modules.auth.passkey.models import Passkey
from app.modules.auth.passkey.settings import PasskeySettings, relying_party
from app.modules.auth.passwordless import complete_sign_in, require_enabled
from app.modules.auth.routes.common import (
    bp,
    current_user_row,
    json_response,
    require_session,
    session_guard,
    start_session,
    user_body,
    with_session_cookie,
)
from app.modules.auth.serializers import session_json
from app.modules.auth.sessions import ResolvedSession, is_fresh

TAGS = ["Passkey"]
PREVIOUSLY_REGISTERED = ApiError(400, "PREVIOUSLY_REGISTERED", "Previously registered")
PASSKEY_NOT_FOUND = ApiError(404, "PASSKEY_NOT_FOUND", "Passkey not found")
NOT_ALLOWED = ApiError(
    401, "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY", "You are not allowed to register this passkey"
)


def _cfg() -> PasskeySettings:
    cfg = require_enabled(PasskeySettings)
    return cfg


def _fresh_session() -> ResolvedSession:
    """better-auth's ``freshSessionMiddleware``: adding a credential needs a recent sign-in."""
    resolved = require_session()
    if not is_fresh(resolved):
        raise ApiError(403, "SESSION_NOT_FRESH", "Session is not fresh")
    return resolved


def _failure(action: str, error: ApiError, **details: str | None) -> None:
    audit_logger.log_async(
        actor_id=details.pop("user_id", None),
        action=action,
        resource_type="passkey",
        details={"code": error.code, **{k: v for k, v in details.items() if v}},
    )


@bp.get("/passkey/generate-register-options")
@endpoint(
    summary="Options to create a passkey (WebAuthn L3 §5.4)",
    tags=TAGS,
    query=s.RegisterOptionsQuery,
    response=s.RegisterOptionsOut,
    responses={401: "No session", 403: "Session not fresh"},
)
@session_guard(check=lambda **_: (_cfg(), _fresh_session()))
def generate_register_options(query: s.RegisterOptionsQuery) -> ResponseReturnValue:
    cfg = _cfg()
    resolved = _fresh_session()
    user = current_user_row(resolved)
    options = registration_options(
        cfg,
        relying_party(),
        user_name=query.name or user.email,
        display_name=user.email,
        existing=store.of_user(user.id),
        attachment=query.authenticator_attachment,
    )
    response = json_response(options)
    challenges.remember(response, "registration", options["challenge"], user.id, cfg.challenge_ttl)
    return response


@bp.post("/passkey/verify-registration")
@endpoint(
    summary="Store a new passkey from the browser's attestation (WebAuthn L3 §7.1)",
    tags=TAGS,
    body=s.VerifyRegistrationBody,
    response=s.PasskeyOut,
    responses={400: "Challenge not found or attestation refused", 401: "No session or not this user's ceremony"},
)
@session_guard(check=lambda **_: (_cfg(), _fresh_session()))
def verify_registration_route(body: s.VerifyRegistrationBody) -> ResponseReturnValue:
    cfg = _cfg()
    resolved = _fresh_session()
    if not request.headers.get("Origin"):
        raise ApiError(400, "FAILED_TO_VERIFY_REGISTRATION", "Failed to verify registration")
    pending = challenges.take("registration")
    if pending["userData"]["id"] != resolved.user_id:
        raise NOT_ALLOWED
    try:
        credential = verify_registration(cfg, relying_party(), body.response, pending["expectedChallenge"])
    except ApiError as error:
        _failure("passkey.registration.failure", error, user_id=resolved.user_id)
        raise
    user = current_user_row(resolved)
    if store.by_credential_id(credential.credential_id) is not None:
        raise PREVIOUSLY_REGISTERED
    passkey = Passkey(
        id=generate_id(),
        name=body.name or None,
        public_key=credential.public_key,
        user_id=resolved.user_id,
        credential_id=credential.credential_id,
        counter=credential.counter,
        device_type=credential.device_type,
        backed_up=credential.backed_up,
        transports=credential.transports,
        created_at=utcnow(),
        aaguid=credential.aaguid,
    )
    db.session.add(passkey)
    token = None
    if body.create_session:
        token, session = start_session(user, dont_remember=False)
    try:
        db.session.commit()
    except IntegrityError:  # §7.1 step 25: a credential id is registered once, to one user
        db.session.rollback()
        raise PREVIOUSLY_REGISTERED from None
    audit_logger.log_async(
        actor_id=user.id,
        action="passkey.registered",
        resource_type="passkey",
        resource_id=passkey.id,
        details={"aaguid": passkey.aaguid, "deviceType": passkey.device_type, "attestation": credential.fmt},
    )
    answer = store.passkey_json(passkey)
    if token is None:
        return json_response(answer)
    answer |= {"session": session_json(session, token), "user": user_body(user)}
    return with_session_cookie(json_response(answer), token, dont_remember=False)


@bp.get("/passkey/generate-authenticate-options")
@endpoint(
    summary="Options to sign in with a passkey; discoverable credentials and conditional UI (WebAuthn L3 §5.5)",
    tags=TAGS,
    response=s.AuthenticateOptionsOut,
)
def generate_authenticate_options() -> ResponseReturnValue:
    cfg = _cfg()
    resolved = resolve_identity()
    allowed = store.of_user(resolved.user_id) if resolved is not None else []
    options = authentication_options(cfg, relying_party(), allowed)
    response = json_response(options)
    challenges.remember(
        response, "authentication", options["challenge"], resolved.user_id if resolved else "", cfg.challenge_ttl
    )
    return response


@bp.post("/passkey/verify-authentication")
@endpoint(
    summary="Sign in with a passkey assertion (WebAuthn L3 §7.2): a session like a password sign-in's",
    tags=TAGS,
    body=s.VerifyAuthenticationBody,
    response=s.SessionUserOut,
    responses={400: "Challenge not found", 401: "Unknown passkey or assertion refused"},
)
def verify_authentication_route(body: s.VerifyAuthenticationBody) -> ResponseReturnValue:
    cfg = _cfg()
    if not request.headers.get("Origin"):
        raise ApiError(400, "ORIGIN_MISSING", "origin missing")
    pending = challenges.take("authentication")
    credential_id = body.response.get("id")
    passkey = store.by_credential_id(credential_id) if isinstance(credential_id, str) else None
    if passkey is None:
        error = ApiError(401, "PASSKEY_NOT_FOUND", "Passkey not found")
        _failure("auth.passkey.failure", error)
        raise error
    expected_user = pending["userData"].get("id")
    try:
        if expected_user and expected_user != passkey.user_id:  # §7.2 step 6
            raise AUTHENTICATION_FAILED
        assertion = verify_assertion(cfg, relying_party(), body.response, pending["expectedChallenge"], passkey)
        if not store.advance(passkey, assertion.new_counter, assertion.backed_up):
            raise ApiError(401, AUTHENTICATION_FAILED.code, f"{AUTHENTICATION_FAILED.message}: counter reused")
    except ApiError as error:
        db.session.rollback()
        _failure("auth.passkey.failure", error, user_id=passkey.user_id, passkey=passkey.id)
        raise
    user = db.session.get(User, passkey.user_id)
    if user is None:
        raise AUTHENTICATION_FAILED
    # A user-verified passkey is two factors in one (possession + PIN/biometric, NIST SP 800-63B
    # §5.1.8); without user verification it is one, and a 2FA user meets the challenge.
    return complete_sign_in(
        user, method="passkey", multi_factor=assertion.user_verified, include_token=False, include_session=True
    )


@bp.get("/passkey/list-user-passkeys")
@endpoint(summary="The signed-in user's passkeys", tags=TAGS, response=list[s.PasskeyOut])
@session_guard(check=lambda **_: (_cfg(), require_session()))
def list_user_passkeys() -> ResponseReturnValue:
    _cfg()
    resolved = require_session()
    return json_response([store.passkey_json(p) for p in store.of_user(resolved.user_id)])


def _own(passkey_id: str, resolved: ResolvedSession, forbidden: ApiError) -> Passkey:
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None:
        raise PASSKEY_NOT_FOUND
    if passkey.user_id != resolved.user_id:
        raise forbidden
    return passkey


@bp.post("/passkey/delete-passkey")
@endpoint(
    summary="Delete one of the user's passkeys",
    tags=TAGS,
    body=s.DeletePasskeyBody,
    response=s.StatusOut,
    responses={404: "Passkey not found"},
)
@session_guard(check=lambda **_: (_cfg(), require_session()))
def delete_passkey(body: s.DeletePasskeyBody) -> ResponseReturnValue:
    _cfg()
    resolved = require_session()
    passkey = _own(body.id, resolved, ApiError(401, "UNAUTHORIZED", "Unauthorized"))
    db.session.delete(passkey)
    db.session.commit()
    audit_logger.log_async(
        actor_id=resolved.user_id, action="passkey.deleted", resource_type="passkey", resource_id=body.id
    )
    return json_response({"status": True})


@bp.post("/passkey/update-passkey")
@endpoint(
    summary="Rename one of the user's passkeys",
    tags=TAGS,
    body=s.UpdatePasskeyBody,
    response=s.PasskeyUpdateOut,
    responses={404: "Passkey not found"},
)
@session_guard(check=lambda **_: (_cfg(), require_session()))
def update_passkey(body: s.UpdatePasskeyBody) -> ResponseReturnValue:
    _cfg()
    resolved = require_session()
    passkey = _own(body.id, resolved, NOT_ALLOWED)
    passkey.name = body.name
    db.session.commit()
    audit_logger.log_async(
        actor_id=resolved.user_id, action="passkey.renamed", resource_type="passkey", resource_id=passkey.id
    )
    return json_response({"passkey": store.passkey_json(passkey)})
