"""``/metrics`` and ``/api/v1/version``: one charset, a bearer token when configured, no Python version."""

from __future__ import annotations

import platform
from typing import Any

import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from app.core.metrics import MetricsSettings
from app.core.settings import load
from config import ConfigError

TOKEN = "scrape-token-0123456789abcdef"


def test_metrics_content_type_names_its_charset_once(client: Any) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert response.headers["Content-Type"].count("charset") == 1


def test_version_hides_the_python_version_unless_asked(make_app: Any) -> None:
    body = make_app().test_client().get("/api/v1/version").json
    assert "python" not in body and body["name"] == "saas-foundation"
    shown = make_app(VERSION__SHOW_PYTHON="true").test_client().get("/api/v1/version").json
    assert shown["python"] == platform.python_version()


def test_without_a_token_both_are_open(client: Any) -> None:
    assert client.get("/metrics").status_code == 200
    assert client.get("/api/v1/version").status_code == 200


@pytest.mark.parametrize("path", ["/metrics", "/api/v1/version"])
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789abcdef", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", TOKEN],
)
def test_with_a_token_anything_else_is_refused(make_app: Any, path: str, authorization: str | None) -> None:
    client = make_app(METRICS__TOKEN=TOKEN).test_client()
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.json["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/metrics", "/api/v1/version"])
def test_with_a_token_the_token_is_let_in(make_app: Any, path: str) -> None:
    client = make_app(METRICS__TOKEN=TOKEN).test_client()
    assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get(path, headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    assert client.get("/api/v1/healthz").status_code == 200  # probes stay open


def test_a_short_token_stops_the_start_without_showing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load(MetricsSettings, {"METRICS__TOKEN": "short"})
    assert str(caught.value).startswith("METRICS__TOKEN is invalid: String should have at least 16 characters")
    assert "'short'" not in str(caught.value)  # a token is never echoed, like a secret
