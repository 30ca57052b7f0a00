"""``flask auth users``: the operator commands, run with Flask's CLI runner against a real database."""

from __future__ import annotations

from flask import Flask

from tests.auth.helpers import PASSWORD, sign_in, sign_up


def run(app: Flask, *args: str, input: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["auth", "users", *args], input=input)
    return result.exit_code, result.output


def test_create_then_sign_in(app: Flask) -> None:
    code, out = run(app, "create", "Ops@Example.com", "--name", "Ops", "--role", "admin", "--password", PASSWORD)
    assert code == 0 and "ops@example.com" in out and "role=admin" in out
    response = sign_in(app.test_client(), "ops@example.com")
    assert response.status_code == 200 and response.json["user"]["role"] == "admin"
    code, out = run(app, "create", "ops@example.com", "--password", PASSWORD)
    assert code == 1 and "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL" in out


def test_create_prompts_for_the_password_and_checks_roles(app: Flask) -> None:
    code, _ = run(app, "create", "p@example.com", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0 and sign_in(app.test_client(), "p@example.com").status_code == 200
    code, out = run(app, "create", "w@example.com", "--role", "wizard", "--password", PASSWORD)
    assert code == 1 and "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE" in out
    code, out = run(app, "create", "s@example.com", "--password", "short")
    assert code == 1 and "PASSWORD_TOO_SHORT" in out


def test_list_and_set_role(app: Flask) -> None:
    sign_up(app.test_client(), "ada@example.com")
    sign_up(app.test_client(), "bob@example.com")
    code, out = run(app, "list")
    assert code == 0 and "ada@example.com" in out and "bob@example.com" in out
    code, out = run(app, "list", "--search", "bob")
    assert "bob@example.com" in out and "ada@example.com" not in out

    code, out = run(app, "set-role", "ada@example.com", "admin")
    assert code == 0 and "role=admin" in out
    assert "admin" in run(app, "list", "--search", "ada")[1]
    code, out = run(app, "set-role", "ada@example.com", "emperor")
    assert code == 1 and "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE" in out
    code, out = run(app, "set-role", "nobody@example.com", "admin")
    assert code == 1 and "USER_NOT_FOUND" in out


def test_ban_ends_the_session_and_unban_lifts_it(app: Flask) -> None:
    client = app.test_client()
    sign_up(client, "ada@example.com")
    code, out = run(app, "ban", "ada@example.com", "--reason", "abuse")
    assert code == 0 and "abuse" in out
    assert client.get("/api/v1/auth/get-session").json is None
    assert sign_in(app.test_client(), "ada@example.com").json["code"] == "BANNED_USER"
    assert "banned" in run(app, "list")[1]
    assert run(app, "unban", "ada@example.com")[0] == 0
    assert sign_in(app.test_client(), "ada@example.com").status_code == 200


def test_reset_password(app: Flask) -> None:
    client = app.test_client()
    sign_up(client, "ada@example.com")
    code, _ = run(app, "reset-password", "ada@example.com", "--password", "operator chosen phrase")
    assert code == 0
    assert client.get("/api/v1/auth/get-session").json is None
    assert sign_in(app.test_client(), "ada@example.com").json["code"] == "INVALID_EMAIL_OR_PASSWORD"
    assert sign_in(app.test_client(), "ada@example.com", "operator chosen phrase").status_code == 200
    code, out = run(app, "reset-password", "ada@example.com", "--password", "tiny")
    assert code == 1 and "PASSWORD_TOO_SHORT" in out
