"""The auth plugins' commands are under ``flask auth``; the old top-level names are hidden aliases."""

from __future__ import annotations

from tests.conftest import AppFactory


def test_plugin_commands_are_under_flask_auth(make_app: AppFactory) -> None:
    runner = make_app().test_cli_runner()
    top = runner.invoke(args=["--help"])
    assert top.exit_code == 0
    listed = {line.split()[0] for line in top.output.split("Commands:")[1].splitlines() if line.strip()}
    assert "auth" in listed
    assert not listed & {"users", "keys", "jwks"}, "the old names are hidden"
    auth = runner.invoke(args=["auth", "--help"])
    assert {"users", "keys", "jwks"} <= set(auth.output.split())
    for group in ("users", "keys", "jwks"):
        assert runner.invoke(args=["auth", group, "--help"]).exit_code == 0


def test_old_top_level_names_still_work(make_app: AppFactory) -> None:
    runner = make_app().test_cli_runner()
    created = runner.invoke(args=["users", "create", "old@example.com", "--password", "correct horse battery"])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(args=["auth", "users", "list"])
    assert listed.exit_code == 0 and "old@example.com" in listed.output
