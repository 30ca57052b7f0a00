"""client_ip(): X-Forwarded-For trusted only as far as the configured proxies vouch for it."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from flask import Flask

from app.modules.auth.client_ip import client_ip, parse_ip, rate_limit_key_ip
from tests.jsenv import JS_DIR, js_module


def environ(xff: str | None = None, remote: str | None = "10.0.0.1") -> dict[str, Any]:
    env: dict[str, Any] = {}
    if remote is not None:
        env["REMOTE_ADDR"] = remote
    if xff is not None:
        env["HTTP_X_FORWARDED_FOR"] = xff
    return env


# -- no trusted proxy --------------------------------------------------------------------


def test_without_trusted_proxies_xff_is_ignored() -> None:
    assert client_ip(environ("6.6.6.6", remote="203.0.113.7"), 0) == "203.0.113.7"


def test_without_any_address_the_ip_is_empty() -> None:
    assert client_ip(environ(remote=None), 0) == ""
    assert client_ip(environ(remote="not-an-ip"), 0) == ""


# -- N trusted proxies: the N-th entry from the right ---------------------------------------


def test_one_proxy_takes_the_entry_it_appended_not_the_clients_own() -> None:
    # the client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the address it saw
    assert client_ip(environ("6.6.6.6, 198.51.100.4"), 1) == "198.51.100.4"


def test_two_proxies_take_the_second_entry_from_the_right() -> None:
    assert client_ip(environ("6.6.6.6, 198.51.100.4, 10.0.0.9"), 2) == "198.51.100.4"


def test_forged_entries_on_the_left_never_win() -> None:
    forged = ", ".join(f"6.6.6.{i}" for i in range(20))
    assert client_ip(environ(f"{forged}, 198.51.100.4, 10.0.0.9"), 2) == "198.51.100.4"


def test_shorter_list_takes_the_rightmost_entry_not_the_spoofable_leftmost() -> None:
    # 3 proxies trusted, but the request reached an inner one directly with its own header:
    # the leftmost entry is the client's claim, the rightmost the inner proxy's observation.
    assert client_ip(environ("6.6.6.6, 198.51.100.4"), 3) == "198.51.100.4"


def test_shorter_list_with_one_entry_takes_it() -> None:
    assert client_ip(environ("198.51.100.4"), 2) == "198.51.100.4"


def test_no_forwarded_header_falls_back_to_the_peer() -> None:
    assert client_ip(environ(None, remote="10.0.0.1"), 1) == "10.0.0.1"
    assert client_ip(environ("  ,  ", remote="10.0.0.1"), 1) == "10.0.0.1"


def test_an_unusable_trusted_entry_moves_right_never_left() -> None:
    # the outermost trusted proxy wrote "unknown": take the next trusted entry, not 6.6.6.6
    assert client_ip(environ("6.6.6.6, unknown, 10.0.0.9"), 2) == "10.0.0.9"


def test_only_unusable_entries_fall_back_to_the_peer() -> None:
    assert client_ip(environ("garbage", remote="10.0.0.1"), 1) == "10.0.0.1"
    assert client_ip(environ("unknown, _hidden", remote="10.0.0.1"), 2) == "10.0.0.1"


def test_ports_brackets_and_mapped_addresses_are_canonicalized() -> None:
    assert client_ip(environ("198.51.100.4:5678"), 1) == "198.51.100.4"
    assert client_ip(environ("[2001:DB8::1]:443"), 1) == "2001:db8::1"
    assert client_ip(environ("2001:db8:0:0::1"), 1) == "2001:db8::1"
    assert client_ip(environ("::ffff:198.51.100.4"), 1) == "198.51.100.4"
    assert client_ip(environ(remote="::ffff:10.1.2.3"), 0) == "10.1.2.3"


@pytest.mark.parametrize("value", ["", "unknown", "1.2.3", "1.2.3.4.5", "fe80::1%eth0", "[::1", "300.1.1.1"])
def test_invalid_addresses_are_rejected(value: str) -> None:
    assert parse_ip(value) is None


def test_reads_a_flask_request_and_repeated_headers() -> None:
    app = Flask(__name__)
    headers = [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.4")]
    with app.test_request_context("/", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"}):
        from flask import request

        assert client_ip(request, 1) == "198.51.100.4"
        assert client_ip(request, 0) == "10.0.0.1"
        assert client_ip(request.environ, 1) == "198.51.100.4"


# -- rate-limit key --------------------------------------------------------------------


def test_ipv4_key_is_the_address() -> None:
    assert rate_limit_key_ip("198.51.100.4") == "198.51.100.4"


def test_ipv6_key_is_its_64_network_in_better_auths_form() -> None:
    assert rate_limit_key_ip("2001:DB8:1:2:aaaa::1") == "2001:0db8:0001:0002:0000:0000:0000:0000"


def test_ipv6_addresses_of_one_64_share_a_key_and_other_64s_do_not() -> None:
    assert rate_limit_key_ip("2001:db8:1:2::1") == rate_limit_key_ip("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert rate_limit_key_ip("2001:db8:1:2::1") != rate_limit_key_ip("2001:db8:1:3::1")


def test_mapped_ipv6_key_is_the_ipv4_address() -> None:
    assert rate_limit_key_ip("::ffff:198.51.100.4") == "198.51.100.4"


@pytest.mark.node
def test_keys_equal_better_auths_normalize_ip() -> None:
    """The same keys as ``normalizeIP`` in @better-auth/core, so the buckets mean the same."""
    assert shutil.which("node"), "node is needed (scripts/test.sh installs it)"
    samples = ["198.51.100.4", "2001:db8::1", "2001:DB8:1:2:aaaa:bbbb:cccc:dddd", "::ffff:192.0.2.1", "::1", "fe80::1"]
    module = js_module("@better-auth", "core", "dist", "utils", "ip.mjs")
    script = (
        f"import {{ normalizeIP }} from {json.dumps(module.as_uri())};"
        "console.log(JSON.stringify(JSON.parse(process.argv[1]).map((ip) => normalizeIP(ip))));"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script, json.dumps(samples)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=JS_DIR,
    )
    assert [rate_limit_key_ip(ip) for ip in samples] == json.loads(result.stdout)
