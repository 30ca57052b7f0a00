"""Small helpers for auth tests: sign users up and in through the real HTTP routes."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

ORIGIN = {"Origin": "http://localhost"}
PASSWORD = "correct horse battery"


def sign_up(client: FlaskClient, email: str, password: str = PASSWORD, **fields: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/auth/sign-up/email",
        json={"name": fields.pop("name", email.split("@")[0]), "email": email, "password": password, **fields},
        headers=ORIGIN,
    )
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(
        "/api/v1/auth/sign-in/email", json={"email": email, "password": password, **extra}, headers=ORIGIN
    )


def post(client: FlaskClient, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    headers = {**ORIGIN, **kwargs.pop("headers", {})}
    return client.post(f"/api/v1/auth{path}", json=body or {}, headers=headers, **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def read_outbox(path: str, to: str, *, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Mails to ``to`` in the file outbox, waiting for ``count`` of them (mail is sent off-thread)."""
    import json
    import time
    from pathlib import Path

    deadline = time.monotonic() + timeout
    while True:
        file = Path(path)
        lines = file.read_text().splitlines() if file.exists() else []
        mails = [m for m in (json.loads(line) for line in lines if line.strip()) if m["to"] == to]
        if len(mails) >= count or time.monotonic() > deadline:
            return mails
        time.sleep(0.02)


def verify_email(app: Any, email: str) -> None:
    """Mark the address verified, as the verification link would (invitations need it)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.modules.auth.models import User
    from app.modules.auth.sessions import invalidate_user

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None
        user.email_verified = True
        invalidate_user(user.id)
        db.session.commit()
