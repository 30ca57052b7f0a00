"""Every error under /api/ is JSON ``{code, message}``; pages keep HTML errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient

from app import create_app
from app.core.api import ApiModel, endpoint
from app.core.errors import ApiError
from app.modules import close_modules
from tests.conftest import BASE_OVERRIDES


class Thing(ApiModel):
    name: str


@pytest.fixture
def error_app(database_url: str) -> Iterator[Flask]:
    """A fresh app with routes that fail on purpose, with a small body limit."""
    app = create_app({**BASE_OVERRIDES, "DATABASE_URL": database_url, "MAX_CONTENT_LENGTH": "2048"})

    @app.get("/api/v1/test/abort/<int:status>")
    def aborting(status: int) -> None:
        abort(status)

    @app.get("/api/v1/test/api-error")
    def api_error() -> None:
        raise ApiError(429, "TOO_MANY_REQUESTS", "Slow down", headers={"Retry-After": "7"})

    @app.get("/api/v1/test/crash")
    def crash() -> None:
        raise RuntimeError("database password is hunter2")

    @app.get("/test/crash-page")
    def crash_page() -> None:
        raise RuntimeError("page exploded")

    @app.post("/api/v1/test/things")
    @endpoint(summary="Create a thing", tags=["Test"], body=Thing, response=Thing)
    def create_thing(body: Thing) -> dict[str, str]:
        return body.model_dump()

    @app.post("/api/v1/test/ignores-body")
    def ignores_body() -> dict[str, bool]:
        return {"ok": True}

    yield app
    close_modules(app)


@pytest.fixture
def eclient(error_app: Flask) -> FlaskClient:
    return error_app.test_client()


def _assert_envelope(response: object, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.mimetype == "application/json"  # type: ignore[attr-defined]
    body: dict[str, str] = response.get_json()  # type: ignore[attr-defined]
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert "<" not in body["message"]
    return body


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "BAD_REQUEST"),
        (401, "UNAUTHORIZED"),
        (403, "FORBIDDEN"),
        (404, "NOT_FOUND"),
        (405, "METHOD_NOT_ALLOWED"),
        (413, "PAYLOAD_TOO_LARGE"),
        (415, "UNSUPPORTED_MEDIA_TYPE"),
        (422, "UNPROCESSABLE_ENTITY"),
        (429, "TOO_MANY_REQUESTS"),
        (500, "INTERNAL_SERVER_ERROR"),
    ],
)
def test_http_errors_under_api_are_json(eclient: FlaskClient, status: int, code: str) -> None:
    _assert_envelope(eclient.get(f"/api/v1/test/abort/{status}"), status, code)


def test_api_error_keeps_its_code_and_headers(eclient: FlaskClient) -> None:
    response = eclient.get("/api/v1/test/api-error")
    assert _assert_envelope(response, 429, "TOO_MANY_REQUESTS")["message"] == "Slow down"
    assert response.headers["Retry-After"] == "7"


def test_unknown_api_route_is_json_404(eclient: FlaskClient) -> None:
    _assert_envelope(eclient.get("/api/v1/no/such/route"), 404, "NOT_FOUND")


def test_wrong_method_is_json_405_with_allow(eclient: FlaskClient) -> None:
    response = eclient.delete("/api/v1/healthz")
    _assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_unhandled_exception_is_json_500_without_details(eclient: FlaskClient) -> None:
    response = eclient.get("/api/v1/test/crash")
    body = _assert_envelope(response, 500, "INTERNAL_SERVER_ERROR")
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert body == {"code": "INTERNAL_SERVER_ERROR", "message": "Internal server error"}


def test_oversized_body_is_413(eclient: FlaskClient) -> None:
    big = {"name": "x" * 5000}
    _assert_envelope(eclient.post("/api/v1/test/things", json=big), 413, "PAYLOAD_TOO_LARGE")
    # Refused from the declared length even where the view never reads the body.
    _assert_envelope(eclient.post("/api/v1/test/ignores-body", data="y" * 5000), 413, "PAYLOAD_TOO_LARGE")


def test_non_json_body_is_415(eclient: FlaskClient) -> None:
    response = eclient.post("/api/v1/test/things", data="name=x", content_type="text/plain")
    _assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_endpoint_validates_the_body(eclient: FlaskClient) -> None:
    assert eclient.post("/api/v1/test/things", json={"name": "ok"}).get_json() == {"name": "ok"}
    # better-auth's clients also post forms
    assert eclient.post("/api/v1/test/things", data={"name": "form"}).get_json() == {"name": "form"}
    body = _assert_envelope(eclient.post("/api/v1/test/things", json={}), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("[body.name] ")
    _assert_envelope(
        eclient.post("/api/v1/test/things", data="{nope", content_type="application/json"), 400, "BAD_REQUEST"
    )
    _assert_envelope(eclient.post("/api/v1/test/things", json=[1, 2]), 400, "VALIDATION_ERROR")


def test_pages_outside_api_keep_html_errors(eclient: FlaskClient) -> None:
    response = eclient.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    crashed = eclient.get("/test/crash-page")
    assert crashed.status_code == 500
    assert "page exploded" not in crashed.get_data(as_text=True)
    assert crashed.mimetype != "application/json"
