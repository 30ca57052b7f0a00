"""Outgoing mail for the auth module: one :class:`Mailer` protocol, three backends.

``MAIL__BACKEND`` picks the backend: ``console`` logs the message and its link (development),
``smtp`` delivers through a relay, ``file`` appends one JSON object per line (tests, local tools).

Security notes:

- SMTP transport security follows RFC 8314 (implicit TLS, ``security=ssl``) and RFC 3207
  (STARTTLS, the default). STARTTLS is mandatory when configured: a server that does not offer it
  is an error, never a silent downgrade to plain text. The TLS context is
  :func:`ssl.create_default_context`, so the certificate chain and the host name are verified
  (RFC 6125; OWASP Transport Layer Security Cheat Sheet); ``ca_file`` adds a trusted CA, it never
  turns verification off.
- Header injection (OWASP Injection Prevention; CWE-93): :class:`email.message.EmailMessage` with
  the default policy refuses CR/LF in header values; :class:`Message` refuses them up front.
- Messages carry ``Auto-Submitted: auto-generated`` (RFC 3834) so auto-responders stay quiet.
- :class:`MailError` messages name the relay and the reason for the logs; they must not be shown
  to HTTP clients.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from flask import Flask, current_app
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section, section

__all__ = [
    "ConsoleMailer",
    "FileMailer",
    "MailError",
    "Mailer",
    "Message",
    "SmtpMailer",
    "get_mailer",
    "init_mailer",
    "mailer_from_settings",
]

log = logging.getLogger(__name__)


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    #: "starttls" (port 587), "ssl" (implicit TLS, port 465) or "none" (local relays only).
    security: Literal["starttls", "ssl", "none"] = "starttls"
    timeout: float = Field(default=10.0, gt=0)
    #: PEM file of an extra CA trusted for the SMTP server (private relays); verification stays on.
    ca_file: str | None = None


class MailSettings(Section):
    """``MAIL__*``: where the auth mails go (``MAIL__SMTP__HOST`` and so on for SMTP)."""

    model_config = SettingsConfigDict(env_prefix="MAIL__", env_nested_delimiter="__")

    backend: Literal["console", "smtp", "file"] = "console"
    from_address: str = "no-reply@localhost"
    #: With backend=file: one JSON object per line (to, subject, text, url).
    file: str | None = None
    smtp: SmtpSettings = SmtpSettings()

    @model_validator(mode="after")
    def _file_needs_path(self) -> MailSettings:
        if self.backend == "file" and not self.file:
            raise ValueError("MAIL__FILE is required when MAIL__BACKEND=file; expected a file path")
        return self

Security = Literal["starttls", "ssl", "none"]


class MailError(Exception):
    """A message could not be sent. The text is for operators' logs, not for HTTP clients."""


@dataclass(frozen=True)
class Message:
    """One outgoing mail. ``url`` is the action link, kept apart so backends and tests can find it."""

    to: str
    subject: str
    text: str
    url: str | None = None
    html: str | None = None

    def __post_init__(self) -> None:
        for name in ("to", "subject"):
            if any(c in getattr(self, name) for c in "\r\n\0"):
                raise ValueError(f"Message.{name} must be a single line")


@runtime_checkable
class Mailer(Protocol):
    """Anything that can send a :class:`Message`; raises :class:`MailError` when it cannot."""

    def send(self, message: Message) -> None: ...


class ConsoleMailer:
    """Logs each message, link included, at INFO: the development default, nothing leaves the host."""

    def __init__(self, from_address: str = "no-reply@localhost", logger: logging.Logger | None = None) -> None:
        self.from_address = from_address
        self.logger = logger or log

    def send(self, message: Message) -> None:
        self.logger.info(
            "mail from %s to %s: %s\nlink: %s\n%s",
            self.from_address,
            message.to,
            message.subject,
            message.url or "-",
            message.text,
        )


class FileMailer:
    """Appends ``{"to", "subject", "text", "url"}`` as one JSON line per message.

    Several processes may share the file: each line is written by one ``write`` under an exclusive
    ``flock``, so lines never interleave, whatever their length.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def send(self, message: Message) -> None:
        record = {"to": message.to, "subject": message.subject, "text": message.text, "url": message.url}
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as error:
            raise MailError(f"cannot open mail file {self.path}: {error}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            view = memoryview(data)
            while view:  # os.write may write less than asked; the lock keeps the rest contiguous
                view = view[os.write(fd, view) :]
        except OSError as error:
            raise MailError(f"cannot write mail file {self.path}: {error}") from error
        finally:
            os.close(fd)  # closing releases the lock


class SmtpMailer:
    """Delivers through an SMTP relay with :mod:`smtplib`, one connection per message."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        username: str | None = None,
        password: str | None = None,
        security: Security = "starttls",
        timeout: float = 10.0,
        ca_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"security must be starttls, ssl or none, not {security!r}")
        self.host = host
        self.port = port
        self.from_address = from_address
        self.username = username
        self.password = password
        self.security: Security = security
        self.timeout = timeout
        self.ca_file = ca_file

    @classmethod
    def from_settings(cls, settings: MailSettings) -> SmtpMailer:
        smtp = settings.smtp
        return cls(
            host=smtp.host,
            port=smtp.port,
            from_address=settings.from_address,
            username=smtp.username,
            password=smtp.password,
            security=smtp.security,
            timeout=smtp.timeout,
            ca_file=smtp.ca_file,
        )

    def tls_context(self) -> ssl.SSLContext:
        """Verifying context: system CAs plus ``ca_file``; chain and host name are always checked."""
        context = ssl.create_default_context()
        if self.ca_file:
            context.load_verify_locations(cafile=os.fspath(self.ca_file))
        return context

    def build(self, message: Message) -> EmailMessage:
        """The MIME message: text, with an HTML alternative when given, plus Message-ID and Date."""
        domain = parseaddr(self.from_address)[1].rpartition("@")[2] or "localhost"
        mime = EmailMessage()
        mime["From"] = self.from_address
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = format_datetime(datetime.now(UTC))
        mime["Message-ID"] = make_msgid(domain=domain)
        mime["Auto-Submitted"] = "auto-generated"
        mime.set_content(message.text)
        if message.html is not None:
            mime.add_alternative(message.html, subtype="html")
        return mime

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls_context())
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                client.ehlo()
                # Raises SMTPNotSupportedError when the server does not offer STARTTLS: no downgrade.
                client.starttls(context=self.tls_context())
                client.ehlo()
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: Message) -> None:
        try:
            mime = self.build(message)
        except (ValueError, TypeError) as error:
            raise MailError(f"cannot build mail to {message.to!r}: {error}") from error
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as client:
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(mime)
        except ssl.SSLCertVerificationError as error:
            reason = error.verify_message
            raise MailError(f"SMTP server {where} failed TLS certificate verification: {reason}") from error
        except smtplib.SMTPAuthenticationError as error:
            raise MailError(f"SMTP server {where} refused the login of {self.username!r}: {error.smtp_code}") from error
        except smtplib.SMTPNotSupportedError as error:
            raise MailError(f"SMTP server {where} does not support {error}") from error
        except (smtplib.SMTPException, OSError) as error:
            raise MailError(f"cannot send mail through {where}: {type(error).__name__}: {error}") from error


def mailer_from_settings(settings: MailSettings) -> Mailer:
    """The backend ``MAIL__BACKEND`` names."""
    if settings.backend == "smtp":
        return SmtpMailer.from_settings(settings)
    if settings.backend == "file":
        if not settings.file:  # MailSettings already refuses this; keep the type checker honest
            raise MailError("MAIL__FILE is required when MAIL__BACKEND=file")
        return FileMailer(settings.file)
    return ConsoleMailer(settings.from_address)


def warn_when_undelivered(app: Flask) -> None:
    """Said once the app is up (not while settings are still being checked): a production app whose
    mails only reach the log is almost always a mistake."""
    if app.config["SETTINGS"].is_production and section(app, MailSettings).backend == "console":
        log.warning("MAIL__BACKEND=console in production: mails are only logged, never delivered")


def init_mailer(app: Flask) -> Mailer:
    """Build the configured mailer and keep it in ``app.extensions["mailer"]``."""
    mailer = mailer_from_settings(section(app, MailSettings))
    app.extensions["mailer"] = mailer
    return mailer


def get_mailer() -> Mailer:
    """The current app's mailer; built on first use when ``init_mailer`` was not called."""
    mailer: Mailer | None = current_app.extensions.get("mailer")
    if mailer is None:
        mailer = init_mailer(current_app)  # the proxy will do: only its config and extensions are read
    return mailer
