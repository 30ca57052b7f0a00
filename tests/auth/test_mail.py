"""The mailer: SMTP against a real aiosmtpd server (plain, STARTTLS, implicit TLS, AUTH), the file
backend under concurrent writers, the console backend, and the auth mails' texts."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import logging
import multiprocessing
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask

from app.core.settings import load
from app.modules.auth import emails
from app.modules.auth.mail import (
    ConsoleMailer,
    FileMailer,
    Mailer,
    MailError,
    MailSettings,
    Message,
    SmtpMailer,
    get_mailer,
    init_mailer,
)
from config import load_settings

HOST = "127.0.0.1"
FROM = "Example <no-reply@example.test>"
LINK = "http://localhost/api/v1/auth/verify-email?token=abc.def.ghi"


# -- a real SMTP server ---------------------------------------------------------------------


@dataclass
class Inbox:
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def parsed(self, index: int = -1) -> EmailMessage:
        raw = self.envelopes[index].content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


ServerFactory = Callable[..., tuple[Inbox, int]]


@pytest.fixture
def smtp_server() -> Iterator[ServerFactory]:
    """``smtp_server(**aiosmtpd options)`` starts a server on a free port: (inbox, port)."""
    controllers: list[Controller] = []

    def start(ssl_context: ssl.SSLContext | None = None, **options: Any) -> tuple[Inbox, int]:
        inbox = Inbox()
        port = _free_port()
        controller = Controller(inbox, hostname=HOST, port=port, ssl_context=ssl_context, **options)
        controller.start()
        controllers.append(controller)
        return inbox, port

    yield start
    for controller in controllers:
        controller.stop()


@dataclass
class Cert:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _self_signed(directory: Path, name: str, *, dns: str | None = None, ip: str | None = None) -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns or ip or name)])
    names: list[x509.GeneralName] = []
    if dns:
        names.append(x509.DNSName(dns))
    if ip:
        names.append(x509.IPAddress(ipaddress.ip_address(ip)))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / f"{name}.pem"
    key_file = directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Cert(cert_file, key_file)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """A self-signed certificate valid for 127.0.0.1."""
    return _self_signed(tmp_path_factory.mktemp("tls"), "server", ip=HOST)


def _mailer(port: int, **options: Any) -> SmtpMailer:
    values: dict[str, Any] = {"host": HOST, "port": port, "from_address": FROM, "security": "none", "timeout": 5}
    values.update(options)
    return SmtpMailer(**values)


MESSAGE = Message(to="ada@example.test", subject="Verify your email", text=f"Open {LINK}\n", url=LINK)


# -- SMTP -----------------------------------------------------------------------------------


def test_smtp_plain_delivers_a_well_formed_message(smtp_server: ServerFactory) -> None:
    inbox, port = smtp_server()
    _mailer(port).send(MESSAGE)

    assert len(inbox.envelopes) == 1
    envelope = inbox.envelopes[0]
    assert envelope.mail_from == "no-reply@example.test"
    assert envelope.rcpt_tos == ["ada@example.test"]
    parsed = inbox.parsed()
    assert parsed["From"] == FROM
    assert parsed["To"] == "ada@example.test"
    assert parsed["Subject"] == "Verify your email"
    assert parsed["Message-ID"].startswith("<") and parsed["Message-ID"].endswith("@example.test>")
    assert parsed["Date"].datetime.tzinfo is not None
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert not parsed.is_multipart()
    assert parsed.get_content_type() == "text/plain"
    assert LINK in parsed.get_content()


def test_smtp_html_is_an_alternative_to_the_text(smtp_server: ServerFactory) -> None:
    inbox, port = smtp_server()
    html = f'<p><a href="{LINK}">Verify</a></p>'
    _mailer(port).send(Message(to="ada@example.test", subject="Hi", text=f"Open {LINK}", url=LINK, html=html))

    parsed = inbox.parsed()
    assert parsed.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in parsed.iter_parts()}  # type: ignore[attr-defined]
    assert set(parts) == {"text/plain", "text/html"}
    assert LINK in parts["text/plain"]
    assert html in parts["text/html"]


def test_every_message_gets_its_own_message_id(smtp_server: ServerFactory) -> None:
    inbox, port = smtp_server()
    mailer = _mailer(port)
    mailer.send(MESSAGE)
    mailer.send(MESSAGE)
    assert inbox.parsed(0)["Message-ID"] != inbox.parsed(1)["Message-ID"]


def test_starttls_refuses_an_untrusted_certificate_by_default(smtp_server: ServerFactory, cert: Cert) -> None:
    inbox, port = smtp_server(tls_context=cert.server_context(), require_starttls=True)

    with pytest.raises(MailError, match="certificate verification"):
        _mailer(port, security="starttls").send(MESSAGE)
    assert inbox.envelopes == []


def test_starttls_delivers_when_the_ca_is_trusted(smtp_server: ServerFactory, cert: Cert) -> None:
    inbox, port = smtp_server(tls_context=cert.server_context(), require_starttls=True)

    _mailer(port, security="starttls", ca_file=str(cert.cert_file)).send(MESSAGE)

    assert len(inbox.envelopes) == 1
    assert LINK in inbox.parsed().get_content()


def test_starttls_checks_the_host_name(smtp_server: ServerFactory, tmp_path: Path) -> None:
    other = _self_signed(tmp_path, "other", dns="mail.other.test")
    inbox, port = smtp_server(tls_context=other.server_context(), require_starttls=True)

    with pytest.raises(MailError, match="certificate verification"):
        _mailer(port, security="starttls", ca_file=str(other.cert_file)).send(MESSAGE)
    assert inbox.envelopes == []


def test_starttls_never_downgrades_to_plain_text(smtp_server: ServerFactory) -> None:
    inbox, port = smtp_server()  # offers no STARTTLS

    with pytest.raises(MailError, match=r"(?i)starttls"):
        _mailer(port, security="starttls").send(MESSAGE)
    assert inbox.envelopes == []


def test_implicit_tls(smtp_server: ServerFactory, cert: Cert) -> None:
    inbox, port = smtp_server(ssl_context=cert.server_context())

    with pytest.raises(MailError, match="certificate verification"):
        _mailer(port, security="ssl").send(MESSAGE)
    _mailer(port, security="ssl", ca_file=cert.cert_file).send(MESSAGE)

    assert len(inbox.envelopes) == 1


def test_smtp_login_is_used_and_checked(smtp_server: ServerFactory, cert: Cert) -> None:
    logins: list[str] = []

    def authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == b"mailer" and data.password == b"s3cret"
        logins.append(f"{mechanism}:{ok}")
        return AuthResult(success=ok, handled=False)

    inbox, port = smtp_server(
        tls_context=cert.server_context(), require_starttls=True, authenticator=authenticate, auth_required=True
    )
    good = _mailer(port, security="starttls", ca_file=cert.cert_file, username="mailer", password="s3cret")
    bad = _mailer(port, security="starttls", ca_file=cert.cert_file, username="mailer", password="wrong")
    anonymous = _mailer(port, security="starttls", ca_file=cert.cert_file)

    good.send(MESSAGE)
    assert len(inbox.envelopes) == 1
    assert logins and logins[-1].endswith(":True")

    with pytest.raises(MailError, match="refused the login"):
        bad.send(MESSAGE)
    with pytest.raises(MailError):
        anonymous.send(MESSAGE)  # the server requires AUTH
    assert len(inbox.envelopes) == 1


def test_unreachable_server_raises_mail_error() -> None:
    port = _free_port()  # nothing listens there
    with pytest.raises(MailError, match=re.escape(f"{HOST}:{port}")):
        _mailer(port, timeout=2).send(MESSAGE)


def test_a_header_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="single line"):
        Message(to="ada@example.test\r\nBcc: eve@example.test", subject="x", text="x")
    with pytest.raises(ValueError, match="single line"):
        Message(to="ada@example.test", subject="x\nBcc: eve@example.test", text="x")


# -- file -----------------------------------------------------------------------------------


def test_file_mailer_writes_one_json_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "mail.jsonl"
    mailer = FileMailer(path)
    mailer.send(MESSAGE)
    mailer.send(Message(to="bob@example.test", subject="Zoë", text="a\nb", url=None))

    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"to": "ada@example.test", "subject": "Verify your email", "text": f"Open {LINK}\n", "url": LINK},
        {"to": "bob@example.test", "subject": "Zoë", "text": "a\nb", "url": None},
    ]


WRITERS = 6
PER_WRITER = 25
BIG = 200_000  # far above PIPE_BUF and a page: unlocked appends of this size can interleave


def _write_many(path: str, writer: int) -> None:
    mailer = FileMailer(path)
    for index in range(PER_WRITER):
        body = chr(ord("a") + writer) * BIG
        mailer.send(Message(to=f"w{writer}@example.test", subject=f"{writer}:{index}", text=body, url=str(index)))


def test_concurrent_processes_never_tear_lines(tmp_path: Path) -> None:
    path = tmp_path / "mail.jsonl"
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_write_many, args=(str(path), w)) for w in range(WRITERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert all(process.exitcode == 0 for process in processes)

    records = [json.loads(line) for line in path.read_bytes().split(b"\n") if line]
    assert len(records) == WRITERS * PER_WRITER
    seen = set()
    for record in records:
        writer, index = map(int, record["subject"].split(":"))
        assert record["text"] == chr(ord("a") + writer) * BIG
        assert record["to"] == f"w{writer}@example.test"
        seen.add((writer, index))
    assert len(seen) == WRITERS * PER_WRITER


def test_file_mailer_reports_an_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(MailError, match="cannot open mail file"):
        FileMailer(blocker / "mail.jsonl").send(MESSAGE)


# -- console --------------------------------------------------------------------------------


def test_console_mailer_logs_the_link(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="app.modules.auth.mail"):
        ConsoleMailer("no-reply@example.test").send(MESSAGE)

    records = [r for r in caplog.records if r.name == "app.modules.auth.mail"]
    assert len(records) == 1
    assert records[0].levelno == logging.INFO
    text = records[0].getMessage()
    assert LINK in text
    assert "ada@example.test" in text
    assert "Verify your email" in text


# -- wiring ---------------------------------------------------------------------------------


def _app(**env: str) -> Flask:
    app = Flask(__name__)
    app.config["SETTINGS"] = load_settings({"APP_ENV": "testing", "AUTH__SECRET": "x" * 40, **env}, env_file=None)
    app.config["SETTINGS_OVERRIDES"] = env
    return app


def test_init_mailer_picks_the_configured_backend(tmp_path: Path, smtp_server: ServerFactory) -> None:
    assert isinstance(init_mailer(_app()), ConsoleMailer)

    path = tmp_path / "out.jsonl"
    app = _app(MAIL__BACKEND="file", MAIL__FILE=str(path))
    mailer = init_mailer(app)
    assert isinstance(mailer, FileMailer)
    assert app.extensions["mailer"] is mailer
    with app.app_context():
        assert get_mailer() is mailer
        get_mailer().send(MESSAGE)
    assert json.loads(path.read_text())["url"] == LINK

    inbox, port = smtp_server()
    app = _app(
        MAIL__BACKEND="smtp",
        MAIL__FROM_ADDRESS="auth@example.test",
        MAIL__SMTP__HOST=HOST,
        MAIL__SMTP__PORT=str(port),
        MAIL__SMTP__SECURITY="none",
    )
    smtp = init_mailer(app)
    assert isinstance(smtp, SmtpMailer) and isinstance(smtp, Mailer)
    with app.app_context():
        get_mailer().send(MESSAGE)
    assert inbox.envelopes[0].mail_from == "auth@example.test"


def test_get_mailer_builds_one_on_first_use() -> None:
    app = _app()
    with app.app_context():
        first = get_mailer()
        assert isinstance(first, ConsoleMailer)
        assert get_mailer() is first


def test_smtp_settings_reach_the_mailer() -> None:
    settings = load(
        MailSettings,
        {
            "MAIL__BACKEND": "smtp",
            "MAIL__SMTP__HOST": "smtp.example.test",
            "MAIL__SMTP__PORT": "465",
            "MAIL__SMTP__SECURITY": "ssl",
            "MAIL__SMTP__USERNAME": "u",
            "MAIL__SMTP__PASSWORD": "p",
            "MAIL__SMTP__TIMEOUT": "3.5",
        },
    )
    mailer = SmtpMailer.from_settings(settings)
    assert (mailer.host, mailer.port, mailer.security) == ("smtp.example.test", 465, "ssl")
    assert (mailer.username, mailer.password, mailer.timeout) == ("u", "p", 3.5)
    assert mailer.tls_context().verify_mode == ssl.CERT_REQUIRED
    assert mailer.tls_context().check_hostname is True


# -- the auth mails -------------------------------------------------------------------------


def test_auth_mails_carry_the_link_and_the_app_name() -> None:
    app = _app(AUTH__APP_NAME="Acme")
    url = "http://localhost/x?token=t"
    with app.app_context():
        made = [
            emails.verification_email("ada@example.test", url),
            emails.password_reset_email("ada@example.test", url),
            emails.change_email_confirmation("ada@example.test", "ada@new.test", url),
            emails.invitation_email("bob@example.test", "Research", "Ada Lovelace", url),
        ]
    for message in made:
        assert message.url == url
        assert url in message.text.splitlines()  # alone on its line: mail clients make it clickable
        assert "Acme" in message.subject and "Acme" in message.text
        assert message.html is None
    assert made[0].to == "ada@example.test" and "verify" in made[0].subject.lower()
    assert "password" in made[1].subject.lower()
    assert "ada@new.test" in made[2].text and made[2].to == "ada@example.test"
    assert made[3].to == "bob@example.test"
    assert "Ada Lovelace" in made[3].subject and "Research" in made[3].subject


def test_user_chosen_names_cannot_break_the_subject() -> None:
    message = emails.invitation_email(
        "bob@example.test",
        "Evil\r\nBcc: eve@example.test",
        "Mallory\n\tX-Spam: no" + "!" * 200,
        "http://l/x",
        app_name="Acme",
    )
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "Evil Bcc: eve@example.test" in message.subject
    assert len(message.subject) < 250


def test_auth_mails_outside_an_app_use_the_given_name() -> None:
    message = emails.password_reset_email("ada@example.test", "http://l/r", app_name="Acme")
    assert message.subject == "Reset your Acme password"


def test_console_mail_in_production_is_warned_about_once_up(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.WARNING, logger="app.modules.auth.mail"):
        make_app(APP_ENV="production", AUTH__SECRET="p" * 40)
    assert "MAIL__BACKEND=console in production" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app.modules.auth.mail"):
        make_app()
    assert "MAIL__BACKEND=console" not in caplog.text
