"""Fixtures of the passwordless tests: a real SMTP server (aiosmtpd) behind the app's real mailer.

``smtp_app(**overrides)`` builds an app whose ``MAIL__BACKEND=smtp`` points at a fresh aiosmtpd
server on a free port; ``Mailbox.wait(to)`` returns the next message to an address as the mailer
sent it over SMTP (mails leave after the answer, from the mail thread, so tests wait for them).
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from tests.conftest import AppFactory

HOST = "127.0.0.1"


@dataclass
class Mailbox:
    """Every message the SMTP server received, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def wait(self, address: str, *, count: int = 1, timeout: float = 5.0) -> EmailMessage:
        """The ``count``-th message to ``address`` (1-based), waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address)
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail #{count} to {address} within {timeout} s ({len(found)} seen)")
            time.sleep(0.02)

    def settle(self, seconds: float = 0.3) -> None:
        """Give the mail thread time to send what it would (before asserting that nothing came)."""
        time.sleep(seconds)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def code_in(message: EmailMessage) -> str:
    found = re.search(r"^(\d{6,12})\r?$", text_of(message), re.MULTILINE)
    assert found, text_of(message)
    return found.group(1)


def link_in(message: EmailMessage) -> str:
    found = re.search(r"^(https?://[^\s]+)\r?$", text_of(message), re.MULTILINE)
    assert found, text_of(message)
    return found.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname=HOST, port=port)
    controller.start()
    yield box, port
    controller.stop()


SmtpApp = Callable[..., tuple[Flask, Mailbox]]


@pytest.fixture
def smtp_app(make_app: AppFactory, mailbox: tuple[Mailbox, int]) -> SmtpApp:
    box, port = mailbox

    def factory(**overrides: Any) -> tuple[Flask, Mailbox]:
        values = {
            "MAIL__BACKEND": "smtp",
            "MAIL__SMTP__HOST": HOST,
            "MAIL__SMTP__PORT": str(port),
            "MAIL__SMTP__SECURITY": "none",
            "MAIL__FROM_ADDRESS": "auth@example.test",
            **overrides,
        }
        return make_app(**values), box

    return factory
