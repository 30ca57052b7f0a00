"""Organization teams over HTTP (better-auth 1.7.25 ``teams.enabled``: shapes, codes, options)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.modules.auth.organization.models import Team, TeamMember
from config import ConfigError
from tests.auth.helpers import post, sign_up, verify_email
from tests.auth.test_organization import create_org, get, join, session_of
from tests.conftest import AppFactory

ON = {"AUTH__ORGANIZATION__TEAMS__ENABLED": "true"}


def code(response: Any) -> tuple[int, str | None]:
    return response.status_code, (response.json or {}).get("code")


def new_team(client: FlaskClient, name: str, **extra: Any) -> dict[str, Any]:
    created = post(client, "/organization/create-team", {"name": name, **extra})
    assert created.status_code == 200, created.json
    body: dict[str, Any] = created.json
    return body


def user_id(client: FlaskClient) -> str:
    found: str = session_of(client)["user"]["id"]
    return found


@pytest.fixture
def teams_app(make_app: AppFactory) -> Flask:
    return make_app(**ON)


def test_teams_are_off_by_default(app: Flask, client: FlaskClient) -> None:
    sign_up(client, "owner@example.com")
    org = create_org(client, "acme")
    assert code(post(client, "/organization/create-team", {"name": "x"})) == (404, "NOT_FOUND")
    assert code(post(client, "/organization/create-team", {})) == (404, "NOT_FOUND")  # before validation
    assert code(get(client, "/organization/list-teams")) == (404, "NOT_FOUND")
    assert "activeTeamId" not in session_of(client)["session"]
    invited = post(client, "/organization/invite-member", {"email": "x@example.com", "role": "member",
                                                            "organizationId": org["id"], "teamId": "anything"})
    assert invited.status_code == 200 and "teamId" not in invited.json  # ignored, as better-auth
    assert "teams" not in get(client, "/organization/get-full-organization").json


def test_a_new_organization_gets_its_default_team(teams_app: Flask) -> None:
    client = teams_app.test_client()
    sign_up(client, "owner@example.com")
    org = create_org(client, "acme")
    teams = get(client, "/organization/list-teams").json
    assert [(t["name"], t["organizationId"], t["updatedAt"]) for t in teams] == [("Acme", org["id"], None)]
    assert set(teams[0]) == {"id", "name", "organizationId", "createdAt", "updatedAt"}
    session = session_of(client)["session"]
    assert (session["activeOrganizationId"], session["activeTeamId"]) == (org["id"], teams[0]["id"])
    members = get(client, "/organization/list-team-members").json  # the active team's
    assert [(m["teamId"], m["userId"]) for m in members] == [(teams[0]["id"], user_id(client))]
    assert set(members[0]) == {"id", "teamId", "userId", "createdAt"}
    full = get(client, "/organization/get-full-organization").json
    assert [(t["id"], t["memberCount"]) for t in full["teams"]] == [(teams[0]["id"], 1)]

    kept = post(client, "/organization/create", {"name": "Two", "slug": "two", "keepCurrentActiveOrganization": True})
    assert kept.status_code == 200
    assert session_of(client)["session"]["activeTeamId"] == teams[0]["id"]  # unchanged


def test_the_default_team_can_be_turned_off(make_app: AppFactory) -> None:
    client = make_app(**ON, AUTH__ORGANIZATION__TEAMS__DEFAULT_TEAM_ENABLED="false").test_client()
    sign_up(client, "owner@example.com")
    create_org(client, "acme")
    assert get(client, "/organization/list-teams").json == []
    assert session_of(client)["session"]["activeTeamId"] is None
    assert code(get(client, "/organization/list-team-members")) == (400, "YOU_DO_NOT_HAVE_AN_ACTIVE_TEAM")


def test_create_update_remove_follow_the_role(teams_app: Flask) -> None:
    owner = teams_app.test_client()
    sign_up(owner, "owner@example.com")
    org = create_org(owner, "acme")
    member = join(teams_app, owner, org["id"], "member@example.com")
    admin = join(teams_app, owner, org["id"], "admin@example.com", role="admin")

    assert code(post(member, "/organization/create-team", {"name": "Nope"})) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_CREATE_TEAMS_IN_THIS_ORGANIZATION")
    team = new_team(admin, "Platform")
    assert (team["name"], team["organizationId"]) == ("Platform", org["id"])
    assert team["updatedAt"] is not None

    assert code(post(member, "/organization/update-team", {"teamId": team["id"], "data": {"name": "X"}})) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_TEAM")
    renamed = post(admin, "/organization/update-team", {"teamId": team["id"], "data": {"name": "Core"}})
    assert renamed.status_code == 200 and renamed.json["name"] == "Core"
    assert code(post(admin, "/organization/update-team", {"teamId": "nope", "data": {"name": "X"}})) == (
        400, "TEAM_NOT_FOUND")
    assert code(post(admin, "/organization/update-team", {"teamId": team["id"], "data": {"name": ""}}))[0] == 400

    assert code(post(member, "/organization/remove-team", {"teamId": team["id"]})) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_DELETE_TEAMS_IN_THIS_ORGANIZATION")
    removed = post(admin, "/organization/remove-team", {"teamId": team["id"]})
    assert removed.json == {"message": "Team removed successfully."}
    assert [t["name"] for t in get(owner, "/organization/list-teams").json] == ["Acme"]


def test_without_a_session_or_organization(teams_app: Flask) -> None:
    client = teams_app.test_client()
    assert code(post(client, "/organization/create-team", {"name": "x"})) == (401, "UNAUTHORIZED")
    assert code(get(client, "/organization/list-user-teams")) == (401, "UNAUTHORIZED")
    assert code(post(client, "/organization/remove-team", {"teamId": "t", "organizationId": "o"})) == (
        401, "UNAUTHORIZED")
    sign_up(client, "lonely@example.com")
    assert code(post(client, "/organization/create-team", {"name": "x"})) == (400, "NO_ACTIVE_ORGANIZATION")
    assert code(get(client, "/organization/list-teams")) == (400, "NO_ACTIVE_ORGANIZATION")
    assert code(post(client, "/organization/remove-team", {"teamId": "t"})) == (400, "NO_ACTIVE_ORGANIZATION")
    assert post(client, "/organization/set-active-team", {}).json is None
    assert get(client, "/organization/list-user-teams").json == []


def test_limits(make_app: AppFactory) -> None:
    app = make_app(**ON, AUTH__ORGANIZATION__TEAMS__MAXIMUM_TEAMS="2",
                   AUTH__ORGANIZATION__TEAMS__MAXIMUM_MEMBERS_PER_TEAM="2")
    owner = app.test_client()
    sign_up(owner, "owner@example.com")
    org = create_org(owner, "acme")  # its default team is the first
    team = new_team(owner, "Platform")
    assert code(post(owner, "/organization/create-team", {"name": "Third"})) == (
        400, "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_TEAMS")
    one = join(app, owner, org["id"], "one@example.com")
    two = join(app, owner, org["id"], "two@example.com")
    for client in (owner, one):
        added = post(owner, "/organization/add-team-member", {"teamId": team["id"], "userId": user_id(client)})
        assert added.status_code == 200
    again = post(owner, "/organization/add-team-member", {"teamId": team["id"], "userId": user_id(one)})
    assert again.status_code == 200  # already in: the same membership, not a second
    assert code(post(owner, "/organization/add-team-member", {"teamId": team["id"], "userId": user_id(two)})) == (
        403, "TEAM_MEMBER_LIMIT_REACHED")
    invited = post(owner, "/organization/invite-member", {"email": "three@example.com", "role": "member",
                                                           "teamId": team["id"]})
    assert code(invited) == (403, "TEAM_MEMBER_LIMIT_REACHED")
    with app.app_context():
        in_team = select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team["id"])
        assert db.session.scalar(in_team) == 2


def test_the_last_team_and_the_active_team(make_app: AppFactory) -> None:
    app = make_app(**ON)
    owner = app.test_client()
    sign_up(owner, "owner@example.com")
    create_org(owner, "acme")
    default = get(owner, "/organization/list-teams").json[0]
    assert code(post(owner, "/organization/remove-team", {"teamId": default["id"]})) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM")  # the session's active team
    assert post(owner, "/organization/set-active-team", {"teamId": None}).json is None
    assert session_of(owner)["session"]["activeTeamId"] is None
    assert code(post(owner, "/organization/remove-team", {"teamId": default["id"]})) == (
        400, "UNABLE_TO_REMOVE_LAST_TEAM")

    free = make_app(**ON, AUTH__ORGANIZATION__TEAMS__ALLOW_REMOVING_ALL_TEAMS="true").test_client()
    sign_up(free, "free@example.com")
    create_org(free, "free")
    only = get(free, "/organization/list-teams").json[0]
    post(free, "/organization/set-active-team", {"teamId": None})
    assert post(free, "/organization/remove-team", {"teamId": only["id"]}).status_code == 200
    assert get(free, "/organization/list-teams").json == []


def test_membership_active_team_and_listing(teams_app: Flask) -> None:
    owner = teams_app.test_client()
    sign_up(owner, "owner@example.com")
    org = create_org(owner, "acme")
    member = join(teams_app, owner, org["id"], "member@example.com")
    team = new_team(owner, "Platform")
    member_id = user_id(member)

    assert code(post(member, "/organization/set-active-team", {"teamId": team["id"]})) == (
        403, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM")
    assert code(get(member, "/organization/list-team-members", teamId=team["id"])) == (
        400, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM")
    assert code(post(member, "/organization/add-team-member", {"teamId": team["id"], "userId": member_id})) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER")
    added = post(owner, "/organization/add-team-member", {"teamId": team["id"], "userId": member_id})
    assert (added.json["teamId"], added.json["userId"]) == (team["id"], member_id)

    active = post(member, "/organization/set-active-team", {"teamId": team["id"]})
    assert active.json["id"] == team["id"]
    assert any(c.startswith("better-auth.session_token=") for c in active.headers.getlist("Set-Cookie"))
    assert session_of(member)["session"]["activeTeamId"] == team["id"]
    assert post(member, "/organization/set-active-team", {}).json["id"] == team["id"]  # the current one
    listed = get(member, "/organization/list-team-members").json
    assert {m["userId"] for m in listed} == {member_id}
    assert [t["id"] for t in get(member, "/organization/list-user-teams").json] == [team["id"]]
    scoped = get(member, "/organization/list-user-teams", organizationId=org["id"]).json
    assert [t["id"] for t in scoped] == [team["id"]]
    assert code(get(member, "/organization/list-user-teams", userId=user_id(owner))) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
    theirs = get(owner, "/organization/list-user-teams", userId=member_id).json
    assert [t["id"] for t in theirs] == [team["id"]]

    assert code(post(member, "/organization/remove-team-member", {"teamId": team["id"], "userId": member_id})) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_REMOVE_A_TEAM_MEMBER")
    gone = post(owner, "/organization/remove-team-member", {"teamId": team["id"], "userId": member_id})
    assert gone.json == {"message": "Team member removed successfully."}
    assert session_of(member)["session"]["activeTeamId"] is None  # no longer theirs
    assert code(post(owner, "/organization/remove-team-member", {"teamId": team["id"], "userId": member_id})) == (
        400, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM")


def test_another_organizations_team_is_unknown(teams_app: Flask) -> None:
    alice = teams_app.test_client()
    sign_up(alice, "alice@example.com")
    create_org(alice, "acme")
    secret = new_team(alice, "Secret")
    mallory = teams_app.test_client()
    sign_up(mallory, "mallory@example.com")
    evil = create_org(mallory, "evil")
    me = user_id(mallory)

    for path, body in (
        ("/organization/update-team", {"teamId": secret["id"], "data": {"name": "Pwned"}}),
        ("/organization/update-team",
         {"teamId": secret["id"], "data": {"name": "Pwned", "organizationId": evil["id"]}}),
        ("/organization/remove-team", {"teamId": secret["id"]}),
        ("/organization/add-team-member", {"teamId": secret["id"], "userId": me}),
        ("/organization/remove-team-member", {"teamId": secret["id"], "userId": me}),
        ("/organization/set-active-team", {"teamId": secret["id"]}),
    ):
        assert code(post(mallory, path, body)) == (400, "TEAM_NOT_FOUND"), path
    assert code(get(mallory, "/organization/list-team-members", teamId=secret["id"])) == (400, "TEAM_NOT_FOUND")
    assert code(post(mallory, "/organization/invite-member", {"email": "x@example.com", "role": "member",
                                                               "teamId": secret["id"]})) == (400, "TEAM_NOT_FOUND")
    assert code(post(mallory, "/organization/invite-member", {"email": "x@example.com", "role": "member",
                                                               "teamId": "a,b"})) == (400, "INVALID_TEAM_ID")
    # Acting in alice's organization needs a membership there.
    foreign = {"name": "x", "organizationId": secret["organizationId"]}
    assert code(post(mallory, "/organization/create-team", foreign)) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION")
    assert code(get(mallory, "/organization/list-teams", organizationId=secret["organizationId"])) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION")
    assert code(get(mallory, "/organization/list-user-teams", organizationId=secret["organizationId"])) == (
        403, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
    with teams_app.app_context():
        assert db.session.get(Team, secret["id"]).name == "Secret"


def test_invitations_with_teams(teams_app: Flask) -> None:
    owner = teams_app.test_client()
    sign_up(owner, "owner@example.com")
    org = create_org(owner, "acme")
    platform, web = new_team(owner, "Platform"), new_team(owner, "Web")

    one = post(owner, "/organization/invite-member",
               {"email": "one@example.com", "role": "member", "teamId": platform["id"]})
    assert one.json["teamId"] == platform["id"]
    both = post(owner, "/organization/invite-member", {"email": "two@example.com", "role": "member",
                                                        "teamId": [platform["id"], web["id"]]})
    assert both.json["teamId"] == f"{platform['id']},{web['id']}"
    plain = post(owner, "/organization/invite-member", {"email": "three@example.com", "role": "member"})
    assert "teamId" in plain.json and plain.json["teamId"] is None  # the key, with teams on

    first = teams_app.test_client()
    sign_up(first, "one@example.com")
    verify_email(teams_app, "one@example.com")
    accepted = post(first, "/organization/accept-invitation", {"invitationId": one.json["id"]})
    assert accepted.status_code == 200
    assert any(c.startswith("better-auth.session_token=") for c in accepted.headers.getlist("Set-Cookie"))
    assert session_of(first)["session"]["activeTeamId"] == platform["id"]

    second = teams_app.test_client()
    sign_up(second, "two@example.com")
    verify_email(teams_app, "two@example.com")
    assert post(second, "/organization/accept-invitation", {"invitationId": both.json["id"]}).status_code == 200
    assert {t["id"] for t in get(second, "/organization/list-user-teams").json} == {platform["id"], web["id"]}
    assert session_of(second)["session"]["activeTeamId"] is None  # two teams: none is chosen

    # Removing a team takes it out of pending invitations.
    pending = post(owner, "/organization/invite-member", {"email": "four@example.com", "role": "member",
                                                           "teamId": [platform["id"], web["id"]]}).json
    post(owner, "/organization/set-active-team", {"teamId": None})
    assert post(owner, "/organization/remove-team", {"teamId": web["id"]}).status_code == 200
    listed = {i["id"]: i for i in get(owner, "/organization/list-invitations").json}
    assert listed[pending["id"]]["teamId"] == platform["id"]
    assert org["id"]


def test_leaving_and_deleting_take_the_teams_along(teams_app: Flask) -> None:
    owner = teams_app.test_client()
    sign_up(owner, "owner@example.com")
    org = create_org(owner, "acme")
    member = join(teams_app, owner, org["id"], "member@example.com")
    team = new_team(owner, "Platform")
    member_id = user_id(member)
    post(owner, "/organization/add-team-member", {"teamId": team["id"], "userId": member_id})
    post(member, "/organization/set-active-team", {"teamId": team["id"]})

    assert post(owner, "/organization/remove-member", {"memberIdOrEmail": "member@example.com"}).status_code == 200
    assert session_of(member)["session"]["activeTeamId"] is None
    with teams_app.app_context():
        theirs = select(func.count()).select_from(TeamMember).where(TeamMember.user_id == member_id)
        assert db.session.scalar(theirs) == 0

    assert post(owner, "/organization/delete", {"organizationId": org["id"]}).status_code == 200
    with teams_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Team)) == 0
        assert db.session.scalar(select(func.count()).select_from(TeamMember)) == 0
    assert session_of(owner)["session"]["activeTeamId"] is None


def test_a_bad_team_setting_names_itself(make_app: AppFactory) -> None:
    with pytest.raises(ConfigError, match="AUTH__ORGANIZATION__TEAMS__MAXIMUM_TEAMS"):
        make_app(**ON, AUTH__ORGANIZATION__TEAMS__MAXIMUM_TEAMS="0")


@pytest.mark.postgres
def test_concurrent_adds_cannot_pass_the_team_limit(make_app: AppFactory, request: pytest.FixtureRequest) -> None:
    """The team row is locked before counting: 8 racing adds to a team of at most 3 make 3 members."""
    import threading

    from app.core.errors import ApiError
    from app.modules.auth.organization.team_service import add_team_member
    from tests.conftest import _truncate_all

    url: str = request.getfixturevalue("pg_database")
    request.addfinalizer(lambda: _truncate_all(url))
    app = make_app(**ON, DATABASE_URL=url, AUTH__ORGANIZATION__TEAMS__MAXIMUM_MEMBERS_PER_TEAM="3")
    owner = app.test_client()
    sign_up(owner, "owner@example.com")
    create_org(owner, "acme")
    team = new_team(owner, "Platform")
    users = []
    for index in range(8):
        client = app.test_client()
        users.append(sign_up(client, f"racer{index}@example.com")["user"]["id"])
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = []

    def add(user: str) -> None:
        with app.app_context():
            barrier.wait()
            try:
                add_team_member(team["id"], user)
                db.session.commit()
                outcomes.append("added")
            except ApiError as error:
                db.session.rollback()
                outcomes.append(error.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["TEAM_MEMBER_LIMIT_REACHED"] * 5 + ["added"] * 3
    with app.app_context():
        in_team = select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team["id"])
        assert db.session.scalar(in_team) == 3


def test_the_team_routes_are_in_the_auth_document(teams_app: Flask) -> None:
    paths = teams_app.test_client().get("/api/v1/auth/open-api/generate-schema").get_json()["paths"]
    for route in ("create-team", "list-teams", "update-team", "remove-team", "add-team-member",
                  "remove-team-member", "set-active-team", "list-user-teams", "list-team-members"):
        assert f"/organization/{route}" in paths, route
    assert paths["/organization/create-team"]["post"]["operationId"] == "organizationCreateTeam"
