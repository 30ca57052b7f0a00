"""The OpenAPI document is valid and covers every API route; the Scalar page is served."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from openapi_spec_validator import validate

from tests.conftest import AppFactory

pytestmark = pytest.mark.modules("tenant", "audit", "example")

DOCUMENT_PATHS = ("/api/v1/openapi.json", "/api/v1/auth/open-api/generate-schema")
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@pytest.fixture
def full_app(make_app: AppFactory) -> Flask:
    return make_app(MODULES__AUTH="true", MODULES__TENANT="true", MODULES__AUDIT="true", MODULES__EXAMPLE="true")


@pytest.mark.parametrize("path", DOCUMENT_PATHS)
def test_document_is_valid_openapi(full_app: Flask, path: str) -> None:
    response = full_app.test_client().get(path)
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_api_route_is_documented(full_app: Flask) -> None:
    document = full_app.test_client().get("/api/v1/openapi.json").get_json()
    missing = []
    for rule in full_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes without @endpoint: " + ", ".join(missing)


def test_documented_paths_exist(full_app: Flask) -> None:
    document = full_app.test_client().get("/api/v1/openapi.json").get_json()
    routes = {_CONVERTER.sub(r"{\1}", rule.rule) for rule in full_app.url_map.iter_rules()}
    assert set(document["paths"]) <= routes


def test_auth_document_is_the_auth_api_relative_to_its_base_path(full_app: Flask) -> None:
    """As better-auth's openAPI plugin: auth routes only, paths relative, the base path in ``servers``."""
    client = full_app.test_client()
    whole = client.get("/api/v1/openapi.json").get_json()
    auth = client.get("/api/v1/auth/open-api/generate-schema").get_json()
    base = full_app.config["SETTINGS"].base_url
    assert auth["servers"] == [{"url": f"{base}/api/v1/auth"}]
    assert whole["servers"] == [{"url": base}]
    expected = {
        p.removeprefix("/api/v1/auth"): ops for p, ops in whole["paths"].items() if p.startswith("/api/v1/auth/")
    }
    assert auth["paths"] == expected
    assert "/sign-in/email" in auth["paths"] and "/get-session" in auth["paths"]
    assert not any(p.startswith("/api/") for p in auth["paths"])
    assert "/api/v1/me" in whole["paths"]


@pytest.mark.parametrize("path", DOCUMENT_PATHS)
def test_every_operation_has_a_unique_operation_id(full_app: Flask, path: str) -> None:
    document = full_app.test_client().get(path).get_json()
    ids = [op.get("operationId") for ops in document["paths"].values() for op in ops.values()]
    assert all(ids) and len(ids) == len(set(ids))


def test_operation_ids_follow_better_auth(full_app: Flask) -> None:
    paths = full_app.test_client().get("/api/v1/auth/open-api/generate-schema").get_json()["paths"]
    assert paths["/sign-up/email"]["post"]["operationId"] == "signUpWithEmailAndPassword"
    assert paths["/get-session"]["get"]["operationId"] == "getSession"
    assert paths["/organization/invite-member"]["post"]["operationId"] == "createOrganizationInvitation"
    # where better-auth sets none: the official client's method path
    assert paths["/organization/list-members"]["get"]["operationId"] == "organizationListMembers"
    assert paths["/two-factor/verify-totp"]["post"]["operationId"] == "twoFactorVerifyTotp"
    whole = full_app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert whole["/api/v1/me"]["get"]["operationId"] == "me"
    assert whole["/api/v1/auth/sign-in/email"]["post"]["operationId"] == "signInEmail"


def test_a_route_without_endpoint_is_caught(make_app: AppFactory) -> None:
    """The coverage check above must notice an undocumented route (guards the guard)."""
    app = make_app()

    @app.get("/api/v1/test/undocumented")
    def undocumented() -> dict[str, bool]:
        return {"ok": True}

    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert "/api/v1/test/undocumented" not in document["paths"]


def test_reference_page_uses_the_configured_script(make_app: AppFactory) -> None:
    url = "https://assets.example.test/scalar/api-reference.js"
    app = make_app(OPENAPI__SCALAR_SCRIPT_URL=url)
    response = app.test_client().get("/api/v1/auth/reference")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'<script src="{url}" crossorigin="anonymous"></script>' in html
    assert 'id="api-reference"' in html
    assert '"openapi"' in html


def test_reference_page_default_script_is_self_hosted(make_app: AppFactory) -> None:
    html = make_app().test_client().get("/api/v1/auth/reference").get_data(as_text=True)
    assert '<script src="/api/v1/auth/reference/scalar-standalone.js" integrity="sha384-' in html
    assert "cdn.jsdelivr.net" not in html


def test_every_request_body_is_the_schema_of_the_model_that_validates_it(full_app: Flask) -> None:
    """Two models may share a class name (admin's and the core's ``UpdateUserBody``); each operation
    must still point at its own (the apispec plugin names the second ``AdminUpdateUserBody``...)."""
    from app.core.api import operation_of

    document = full_app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    checked = 0
    for rule in full_app.url_map.iter_rules():
        op = operation_of(full_app.view_functions[rule.endpoint])
        if op is None or op.body is None or "POST" not in (rule.methods or ()):
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        ref = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        documented = schemas[ref.rsplit("/", 1)[-1]]
        assert set(documented.get("properties", {})) == set(op.body.model_json_schema().get("properties", {})), path
        checked += 1
    assert checked > 50
