"""Pure parts of the federation: role mapping, membership parsing, discovery metadata."""

from __future__ import annotations

from typing import Any

import pytest

from app.modules.auth.oidc.discovery import DiscoveryError, parse_metadata
from app.modules.auth.oidc.profile import mapped_roles, profile_from_claims
from app.modules.auth.oidc.provisioning import wanted_memberships

CLAIMS: dict[str, Any] = {
    "sub": "s",
    "realm_access": {"roles": ["admin", "offline_access", "uma_authorization", "default-roles-acme", "admin"]},
    "realm_roles": ["auditor"],
    "groups": ["/support", "/admin", "/acme/billing", "bad,role"],
}


def test_identity_only_leaves_roles_to_the_app() -> None:
    assert mapped_roles(CLAIMS, map_roles=False, map_groups=False) is None


def test_roles_groups_and_both() -> None:
    assert mapped_roles(CLAIMS, map_roles=True, map_groups=False) == "admin,auditor"
    assert mapped_roles(CLAIMS, map_roles=False, map_groups=True) == "support,admin,acme/billing"
    assert mapped_roles(CLAIMS, map_roles=True, map_groups=True) == "admin,auditor,support,acme/billing"


def test_a_nested_group_is_its_path_without_the_leading_slash() -> None:
    claims = {"sub": "s", "groups": ["/acme/admin", "/a/b/c", "/x//y", "/bad path/x", "plain"]}
    assert mapped_roles(claims, map_roles=False, map_groups=True) == "acme/admin,a/b/c,plain"


def test_an_empty_result_is_the_default_role() -> None:
    only_builtin = {"sub": "s", "realm_access": {"roles": ["offline_access", "default-roles-x"]}, "groups": []}
    assert mapped_roles(only_builtin, map_roles=True, map_groups=True) == "user"


def test_organization_groups_are_not_roles() -> None:
    claims = {"sub": "s", "groups": ["/acme", "/staff"]}
    assert mapped_roles(claims, map_roles=False, map_groups=True, org_slugs=frozenset({"acme"})) == "staff"
    nested = {"sub": "s", "groups": ["/acme/admin", "/initech/admin"]}
    assert mapped_roles(nested, map_roles=False, map_groups=True, org_slugs=frozenset({"acme"})) == "initech/admin"


def test_memberships_from_roles_and_groups() -> None:
    claims = {
        "sub": "s",
        "realm_access": {"roles": ["org-admin:acme", "org-:x", "org-Bad:acme"]},
        "groups": ["/globex", "/acme/billing", "/a/b/c"],
    }
    assert wanted_memberships(claims) == {"acme": "admin,billing", "globex": "member"}


def test_profile_maps_given_and_family_names() -> None:
    profile = profile_from_claims(
        {"sub": "s", "email": "A@X.io", "email_verified": "true", "given_name": "Ada", "family_name": "Lovelace"}
    )
    assert (profile.email, profile.email_verified, profile.name) == ("a@x.io", True, "Ada Lovelace")
    assert (profile.firstname, profile.lastname) == ("Ada", "Lovelace")
    assert profile_from_claims({"sub": "s", "email_verified": "yes"}).email_verified is False


DOC = {
    "issuer": "https://sso.example.com/realms/acme",
    "authorization_endpoint": "https://sso.example.com/realms/acme/protocol/openid-connect/auth",
    "token_endpoint": "https://sso.example.com/realms/acme/protocol/openid-connect/token",
    "jwks_uri": "https://sso.example.com/realms/acme/protocol/openid-connect/certs",
    "userinfo_endpoint": "https://sso.example.com/realms/acme/protocol/openid-connect/userinfo",
    "authorization_response_iss_parameter_supported": True,
    "response_types_supported": ["code"],
    "subject_types_supported": ["public"],
    "id_token_signing_alg_values_supported": ["RS256"],
}


def test_public_url_rewrites_server_facing_urls_to_the_internal_issuer() -> None:
    meta = parse_metadata(DOC, "http://keycloak:8080/realms/acme", "https://sso.example.com/realms/acme")
    assert meta.authorization_endpoint.startswith("https://sso.example.com/")
    assert meta.token_endpoint.startswith("http://keycloak:8080/realms/acme/")
    assert meta.jwks_uri.startswith("http://keycloak:8080/realms/acme/")
    assert meta.iss_parameter_supported


def test_public_url_rewrites_browser_facing_urls_to_the_public_issuer() -> None:
    internal = {
        k: v.replace("https://sso.example.com", "http://keycloak:8080") if isinstance(v, str) else v
        for k, v in DOC.items()
    }
    meta = parse_metadata(internal, "http://keycloak:8080/realms/acme", "https://sso.example.com/realms/acme")
    assert meta.authorization_endpoint.startswith("https://sso.example.com/realms/acme/")
    assert meta.token_endpoint.startswith("http://keycloak:8080/")


def test_a_document_for_another_issuer_is_refused() -> None:
    with pytest.raises(DiscoveryError):
        parse_metadata(DOC, "https://other.example.com/realms/acme")
    meta = parse_metadata(DOC, "https://sso.example.com/realms/acme")
    assert meta.accepted_issuers == frozenset({DOC["issuer"]})


@pytest.mark.parametrize(
    "changes",
    [
        {"response_types_supported": None},  # REQUIRED (Discovery 1.0 §3)
        {"subject_types_supported": ["nobody"]},
        {"id_token_signing_alg_values_supported": ["ES256"]},  # RS256 MUST be included
        {"jwks_uri": None},
    ],
    ids=["no-response-types", "subject-types", "no-rs256", "no-jwks-uri"],
)
def test_a_document_authlib_finds_invalid_is_refused(changes: dict[str, object]) -> None:
    doc = {k: v for k, v in {**DOC, **changes}.items() if v is not None}
    with pytest.raises(DiscoveryError):
        parse_metadata(doc, "https://sso.example.com/realms/acme")
