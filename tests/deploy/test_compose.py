"""``deploy/compose.yaml`` has the production shape and agrees with ``deploy/nginx.conf``.

There is no Docker daemon (nor compose plugin) where the suite runs, so the file is read as YAML
and its structure checked: what would otherwise only fail on someone's first ``docker compose up``
(an instance with another secret, apps starting before the migrations, the proxy pointing at a
service that does not exist, an instance published past the proxy).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
APPS = ("app1", "app2")
SHARED = ("APP_ENV", "AUTH__SECRET", "AUTH__BASE_URL", "DATABASE_URL", "REDIS_URL", "AUTH__TRUSTED_PROXIES")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"proxy", *APPS, "migrate", "postgres", "redis"}
    for name, service in compose["services"].items():
        if name != "migrate":  # a one-shot job: done is its health
            assert service["healthcheck"]["test"], name
            assert service["restart"] == "unless-stopped", name


def test_instances_share_every_setting(compose: dict[str, Any]) -> None:
    services = compose["services"]
    environments = [services[name]["environment"] for name in (*APPS, "migrate")]
    for key in SHARED:
        values = {env[key] for env in environments}
        assert len(values) == 1, f"{key} differs between the instances and the migrations: {values}"
    env = environments[0]
    assert env["APP_ENV"] == "production"
    assert env["AUTH__TRUSTED_PROXIES"] == "1"  # exactly one proxy: the nginx service
    assert env["AUTH__SECRET"].startswith("${AUTH__SECRET:?")  # required, never a default
    assert re.fullmatch(r"postgresql://app:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432/app", env["DATABASE_URL"])
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    postgres = services["postgres"]["environment"]
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == ("app", "app")


def test_instances_are_built_from_the_dockerfile(compose: dict[str, Any]) -> None:
    for name in (*APPS, "migrate"):
        build = compose["services"][name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile", name
    assert compose["services"]["migrate"]["command"] == ["flask", "--app", "wsgi", "db", "upgrade"]
    assert compose["services"]["migrate"]["restart"] == "no"


def test_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in APPS:
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["proxy"]["depends_on"] == {name: {"condition": "service_healthy"} for name in APPS}


def test_proxy_matches_nginx_conf(compose: dict[str, Any]) -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    proxy = compose["services"]["proxy"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert re.findall(r"^\s*server (\w+):(\d+)", conf, re.MULTILINE) == [(name, "8000") for name in APPS]
    listen = re.findall(r"^\s*listen (\d+);", conf, re.MULTILINE)
    # Published on the port nginx listens on, so X-Forwarded-Port ($server_port) is the public one.
    assert proxy["ports"] == [f"{listen[0]}:{listen[0]}"]
    for name in APPS:
        # Only the proxy is published: a client reaching an instance directly could write the
        # X-Forwarded-For that AUTH__TRUSTED_PROXIES=1 believes.
        assert "ports" not in compose["services"][name], name
        assert compose["services"][name]["expose"] == ["8000"], name


def test_variables_are_required_or_defaulted() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    uses = re.findall(r"\$\{([^}]*)\}", text)
    assert uses, "no variables?"
    for use in uses:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*(:\?.+|:-.*)", use), f"${{{use}}}: neither required nor defaulted"
    required = {use.split(":?")[0] for use in uses if ":?" in use}
    assert required == {"AUTH__SECRET", "POSTGRES_PASSWORD"}
