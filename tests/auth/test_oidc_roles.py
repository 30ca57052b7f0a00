"""Role mapping's four modes, changes at the provider, organization provisioning, account linking."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.models import Account, User, utcnow
from tests.auth.helpers import PASSWORD
from tests.auth.test_oidc_flow import account, keycloak_account, user_row
from tests.oidc.browser import error_of, location
from tests.oidc.provider import oidc_provider  # noqa: F401 - fixture
from tests.oidc.server import OidcServer, OidcServerFactory, make_oidc_server  # noqa: F401

pytestmark = pytest.mark.node

ROLES = ["admin", "offline_access", "uma_authorization", "default-roles-acme", "billing"]
GROUPS = ["/support", "/admin", "/ops/oncall"]


def _mode(make_oidc_server: OidcServerFactory, roles: bool, groups: bool, **env: str) -> OidcServer:  # noqa: F811
    return make_oidc_server(KEYCLOAK__MAP_ROLES=str(roles).lower(), KEYCLOAK__MAP_GROUPS=str(groups).lower(), **env)


@pytest.mark.parametrize(
    ("map_roles", "map_groups", "expected"),
    [
        (False, False, "user"),
        (True, False, "admin,billing"),
        (False, True, "support,admin,ops/oncall"),
        (True, True, "admin,billing,support,ops/oncall"),
    ],
)
def test_the_four_mapping_modes(
    make_oidc_server: OidcServerFactory,  # noqa: F811
    map_roles: bool,
    map_groups: bool,
    expected: str,
) -> None:
    server = _mode(make_oidc_server, map_roles, map_groups)
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", roles=ROLES, groups=GROUPS)})
    browser = server.browser()
    browser.sign_in("ada")
    assert browser.get_session()["user"]["role"] == expected


def test_flat_realm_roles_claim_is_read_too(make_oidc_server: OidcServerFactory) -> None:  # noqa: F811
    server = _mode(make_oidc_server, True, False)
    server.provider.set_accounts(
        {"ada": account("kc-ada", "ada@example.com", flat_roles=["auditor", "offline_access"])}
    )
    browser = server.browser()
    browser.sign_in("ada")
    assert browser.get_session()["user"]["role"] == "auditor"


@pytest.mark.parametrize(("map_roles", "map_groups"), [(True, False), (False, True), (True, True)])
def test_role_changes_at_the_provider_show_at_the_next_sign_in_and_empty_means_user(
    make_oidc_server: OidcServerFactory,  # noqa: F811
    map_roles: bool,
    map_groups: bool,
) -> None:
    server = _mode(make_oidc_server, map_roles, map_groups)
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", roles=["admin"], groups=["/admin"])})
    first = server.browser()
    first.sign_in("ada")
    assert first.get_session()["user"]["role"] == "admin"

    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", roles=["viewer"], groups=["/viewer"])})
    server.browser().sign_in("ada")
    # The older session sees the change too: its cached copy was invalidated.
    assert first.get_session()["user"]["role"] == "viewer"

    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", roles=["offline_access"], groups=[])})
    server.browser().sign_in("ada")
    assert first.get_session()["user"]["role"] == "user"  # the default role, not the old one


@pytest.mark.redis
def test_role_change_invalidates_sessions_cached_in_redis(
    make_oidc_server: OidcServerFactory,  # noqa: F811
    redis_url: str,
) -> None:
    server = _mode(make_oidc_server, True, False, REDIS_URL=redis_url)
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", roles=["admin"])})
    first = server.browser()
    first.sign_in("ada")
    assert first.get_session()["user"]["role"] == "admin"  # now cached in Redis
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", roles=["viewer"])})
    server.browser().sign_in("ada")
    assert first.get_session()["user"]["role"] == "viewer"


# -- organization provisioning ---------------------------------------------------------------


def _org(app: Flask, slug: str) -> str:
    from app.modules.auth.organization.models import Organization

    with app.app_context():
        org = Organization(id=f"org-{slug}", name=slug.title(), slug=slug, created_at=utcnow())
        db.session.add(org)
        db.session.commit()
        return org.id


def _memberships(app: Flask, user_id: str) -> dict[str, str]:
    from app.modules.auth.organization.models import Member, Organization

    with app.app_context():
        rows = db.session.execute(
            select(Organization.slug, Member.role)
            .join(Member, Member.organization_id == Organization.id)
            .where(Member.user_id == user_id)
        )
        return {slug: role for slug, role in rows}


def test_organization_memberships_are_provisioned_and_updated(make_oidc_server: OidcServerFactory) -> None:  # noqa: F811
    server = _mode(make_oidc_server, True, True, KEYCLOAK__PROVISION_ORGANIZATIONS="true")
    _org(server.app, "acme")
    _org(server.app, "globex")
    server.provider.set_accounts(
        {
            "ada": account(
                "kc-ada",
                "ada@example.com",
                roles=["org-admin:acme", "staff"],
                groups=["/globex", "/initech/admin", "/acme/billing"],
            )
        }
    )
    browser = server.browser()
    browser.sign_in("ada")
    user = browser.get_session()["user"]
    assert _memberships(server.app, user["id"]) == {"acme": "admin,billing", "globex": "member"}
    # Organization groups and roles are memberships, not app roles; no organization is created;
    # a group under a slug that is no organization is a role like any nested group.
    assert user["role"] == "staff,initech/admin"
    from app.modules.auth.organization.models import Organization

    with server.app.app_context():
        assert db.session.scalar(select(Organization.id).where(Organization.slug == "initech")) is None

    server.provider.set_accounts(
        {"ada": account("kc-ada", "ada@example.com", roles=["staff"], groups=["/acme/member", "/globex/owner"])}
    )
    server.browser().sign_in("ada")
    assert _memberships(server.app, user["id"]) == {"acme": "member", "globex": "owner"}


def test_without_provisioning_no_membership_is_made(make_oidc_server: OidcServerFactory) -> None:  # noqa: F811
    server = _mode(make_oidc_server, True, False)
    _org(server.app, "acme")
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", roles=["org-admin:acme"])})
    browser = server.browser()
    browser.sign_in("ada")
    user = browser.get_session()["user"]
    assert _memberships(server.app, user["id"]) == {}
    assert user["role"] == "user"  # org-* roles are never app roles


# -- account linking --------------------------------------------------------------------------


def _local_user(server: OidcServer, email: str, *, verified: bool) -> str:
    response = server.app.test_client().post(
        "/api/v1/auth/sign-up/email",
        json={"name": "Grace", "email": email, "password": PASSWORD},
        headers={"Origin": server.url},
    )
    assert response.status_code == 200, response.json
    user_id: str = response.json["user"]["id"]
    with server.app.app_context():
        db.session.get(User, user_id).email_verified = verified
        db.session.commit()
    return user_id


def test_a_verified_email_links_to_the_existing_user(server_linking: OidcServer) -> None:
    server = server_linking
    user_id = _local_user(server, "grace@example.com", verified=True)
    server.provider.set_accounts({"grace": account("kc-grace", "grace@example.com", verified=True)})
    browser = server.browser()
    response = browser.sign_in("grace")
    assert location(response) == "/dashboard"  # not a new user
    assert browser.get_session()["user"]["id"] == user_id
    with server.app.app_context():
        providers = set(db.session.scalars(select(Account.provider_id).where(Account.user_id == user_id)))
    assert providers == {"credential", "keycloak"}


@pytest.mark.parametrize(("provider_verified", "local_verified"), [(False, True), (True, False), (False, False)])
def test_linking_is_refused_unless_both_emails_are_verified(
    server_linking: OidcServer, provider_verified: bool, local_verified: bool
) -> None:
    server = server_linking
    user_id = _local_user(server, "grace@example.com", verified=local_verified)
    server.provider.set_accounts({"grace": account("kc-grace", "grace@example.com", verified=provider_verified)})
    browser = server.browser()
    response = browser.sign_in("grace")
    assert location(response) == "/oops?error=account_not_linked"
    assert keycloak_account(server, user_id) is None
    assert browser.get_session() is None
    assert user_row(server, "grace@example.com").id == user_id


def test_a_banned_user_does_not_get_a_session(server_linking: OidcServer) -> None:
    server = server_linking
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com")})
    server.browser().sign_in("ada")
    with server.app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        assert user is not None
        user.banned = True
        db.session.commit()
    browser = server.browser()
    assert error_of(browser.sign_in("ada")) == "banned"
    assert browser.get_session() is None


@pytest.fixture
def server_linking(make_oidc_server: OidcServerFactory) -> OidcServer:  # noqa: F811
    return make_oidc_server()


def test_a_nested_group_maps_to_its_path(make_oidc_server: OidcServerFactory) -> None:  # noqa: F811
    """As docs/auth.md ("Keycloak") says: only the leading ``/`` is stripped (``/acme/admin`` -> ``acme/admin``)."""
    server = _mode(make_oidc_server, False, True)
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", groups=["/acme/admin", "/staff"])})
    browser = server.browser()
    browser.sign_in("ada")
    assert browser.get_session()["user"]["role"] == "acme/admin,staff"


def _provisioned(app: Flask, user_id: str) -> set[str]:
    from app.modules.auth.oidc.models import ProvisionedMembership
    from app.modules.auth.organization.models import Member, Organization

    with app.app_context():
        rows = db.session.scalars(
            select(Organization.slug)
            .join(Member, Member.organization_id == Organization.id)
            .join(ProvisionedMembership, ProvisionedMembership.member_id == Member.id)
            .where(Member.user_id == user_id)
        )
        return set(rows)


def test_provider_memberships_are_reconciled_and_app_memberships_left_alone(
    make_oidc_server: OidcServerFactory,  # noqa: F811
) -> None:
    from app.modules.auth.organization.models import Member

    server = _mode(make_oidc_server, False, False, KEYCLOAK__PROVISION_ORGANIZATIONS="true")
    for slug in ("acme", "globex", "initech"):
        _org(server.app, slug)
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", groups=["/acme/admin", "/globex"])})
    browser = server.browser()
    browser.sign_in("ada")
    user_id = browser.get_session()["user"]["id"]
    assert _memberships(server.app, user_id) == {"acme": "admin", "globex": "member"}
    assert _provisioned(server.app, user_id) == {"acme", "globex"}
    # a membership made in the app (initech), whose role the claims then also name
    with server.app.app_context():
        db.session.add(Member(id="m-app", organization_id="org-initech", user_id=user_id, role="owner",
                              created_at=utcnow()))
        db.session.commit()

    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", groups=["/acme/member", "/initech"])})
    server.browser().sign_in("ada")
    # acme follows the claims, globex is gone (no longer asserted), initech is the app's: untouched
    assert _memberships(server.app, user_id) == {"acme": "member", "initech": "owner"}
    assert _provisioned(server.app, user_id) == {"acme"}

    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", groups=[])})
    server.browser().sign_in("ada")
    assert _memberships(server.app, user_id) == {"initech": "owner"}
    assert _provisioned(server.app, user_id) == set()


def test_a_membership_removed_in_the_app_comes_back_only_as_the_providers(
    make_oidc_server: OidcServerFactory,  # noqa: F811
) -> None:
    from app.modules.auth.organization.models import Member

    server = _mode(make_oidc_server, False, False, KEYCLOAK__PROVISION_ORGANIZATIONS="true")
    _org(server.app, "acme")
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", groups=["/acme/owner"])})
    browser = server.browser()
    browser.sign_in("ada")
    user_id = browser.get_session()["user"]["id"]
    with server.app.app_context():  # an app admin removes it: the record goes with it (cascade)
        from sqlalchemy import delete

        db.session.execute(delete(Member).where(Member.user_id == user_id))
        db.session.commit()
    assert _provisioned(server.app, user_id) == set()
    server.browser().sign_in("ada")  # still asserted: made again, as the provider's
    assert _memberships(server.app, user_id) == {"acme": "owner"}
    assert _provisioned(server.app, user_id) == {"acme"}
    # the only owner is kept when the provider stops asserting it
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", groups=[])})
    server.browser().sign_in("ada")
    assert _memberships(server.app, user_id) == {"acme": "owner"}
