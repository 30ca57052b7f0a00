"""The auth module's mails, as :class:`~app.modules.auth.mail.Message` values ready to send.

Plain text on purpose: it renders everywhere and gives nothing to inject. Names that users choose
(organization, inviter) are folded to one short line before they reach a subject, so they cannot
add headers (CWE-93) and cannot pass for a long, official-looking sentence.
"""

from __future__ import annotations

import re

from flask import current_app, has_app_context

from app.modules.auth.mail import Message

__all__ = [
    "change_email_confirmation",
    "invitation_email",
    "magic_link_email",
    "one_time_code_email",
    "password_reset_email",
    "two_factor_code_email",
    "verification_email",
]

_DEFAULT_APP_NAME = "SaaS foundation"
_NAME_LIMIT = 80
_CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")


def _app_name(app_name: str | None) -> str:
    if app_name:
        return app_name
    if has_app_context():
        return str(current_app.config["SETTINGS"].auth.app_name)
    return _DEFAULT_APP_NAME


def _one_line(value: str) -> str:
    """Whitespace and control characters folded to single spaces, cut to a sane length."""
    folded = _CONTROL_OR_SPACE.sub(" ", value).strip()
    return folded if len(folded) <= _NAME_LIMIT else folded[: _NAME_LIMIT - 1].rstrip() + "…"


def _body(*paragraphs: str, app: str) -> str:
    return "\n\n".join((*paragraphs, f"-- \n{app}")) + "\n"


def verification_email(to: str, url: str, *, app_name: str | None = None) -> Message:
    """Asks the owner of ``to`` to confirm the address (sign-up, send-verification-email)."""
    app = _app_name(app_name)
    text = _body(
        "Hello,",
        f"Please confirm that {to} is your email address for {app} by opening this link:",
        url,
        f"If you did not create an account with {app}, you can ignore this message.",
        app=app,
    )
    return Message(to=to, subject=f"Verify your email address for {app}", text=text, url=url)


def password_reset_email(to: str, url: str, *, app_name: str | None = None) -> Message:
    """Carries the reset link of request-password-reset."""
    app = _app_name(app_name)
    text = _body(
        "Hello,",
        f"Someone asked to reset the password of the {app} account of {to}. To choose a new password, open this link:",
        url,
        "If you did not ask for this, ignore this message: your password stays as it is.",
        app=app,
    )
    return Message(to=to, subject=f"Reset your {app} password", text=text, url=url)


def change_email_confirmation(to: str, new_email: str, url: str, *, app_name: str | None = None) -> Message:
    """Sent to the current (old) address to approve a change to ``new_email``."""
    app = _app_name(app_name)
    new = _one_line(new_email)
    text = _body(
        "Hello,",
        f"Someone asked to change the email address of your {app} account from {to} to {new}. "
        "To approve the change, open this link:",
        url,
        "If you did not ask for this, do not open the link, and change your password.",
        app=app,
    )
    return Message(to=to, subject=f"Approve the change of your {app} email address", text=text, url=url)


def invitation_email(
    to: str, organization_name: str, inviter: str, url: str, *, app_name: str | None = None
) -> Message:
    """Invites ``to`` to join an organization; ``inviter`` is the inviting member's name or email."""
    app = _app_name(app_name)
    organization = _one_line(organization_name)
    who = _one_line(inviter)
    text = _body(
        "Hello,",
        f"{who} invited you to join the organization \u201c{organization}\u201d on {app}. "
        "To accept or decline the invitation, open this link:",
        url,
        "If you did not expect this invitation, you can ignore this message.",
        app=app,
    )
    return Message(to=to, subject=f"{who} invited you to join {organization} on {app}", text=text, url=url)


def two_factor_code_email(to: str, code: str, minutes: int, *, app_name: str | None = None) -> Message:
    """Carries a one-time code of the two-factor OTP method (two-factor/send-otp)."""
    app = _app_name(app_name)
    text = _body(
        "Hello,",
        f"Your {app} verification code is:",
        code,
        f"It works once, for {minutes} minutes. If you did not try to sign in, change your password.",
        app=app,
    )
    return Message(to=to, subject=f"Your {app} verification code", text=text)

_OTP_PURPOSE = {
    "sign-in": ("Your {app} sign-in code", "to sign in to {app}"),
    "email-verification": ("Your {app} verification code", "to verify your email address for {app}"),
    "forget-password": ("Your {app} password reset code", "to reset your {app} password"),
    "change-email": ("Your {app} email change code", "to make this your {app} email address"),
}


def one_time_code_email(to: str, code: str, kind: str, minutes: int, *, app_name: str | None = None) -> Message:
    """Carries an email-OTP code of ``kind`` (better-auth's OTP types)."""
    app = _app_name(app_name)
    subject, purpose = _OTP_PURPOSE.get(kind, _OTP_PURPOSE["sign-in"])
    text = _body(
        "Hello,",
        f"Your one-time code {purpose.format(app=app)} is:",
        code,
        f"It expires in {minutes} minutes and works once. Never share it: {app} will never ask you for it.",
        "If you did not ask for it, ignore this message.",
        app=app,
    )
    return Message(to=to, subject=subject.format(app=app), text=text)


def magic_link_email(to: str, url: str, minutes: int, *, app_name: str | None = None) -> Message:
    """Carries a single-use sign-in link (magic-link plugin)."""
    app = _app_name(app_name)
    text = _body(
        "Hello,",
        f"To sign in to {app} as {to}, open this link:",
        url,
        f"It expires in {minutes} minutes and works once. If you did not ask for it, ignore this message.",
        app=app,
    )
    return Message(to=to, subject=f"Sign in to {app}", text=text, url=url)
