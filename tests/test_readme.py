"""The README stays true: its curl walk-through works as written, its figures match the code.

The walk-through block (after the ``<!-- walkthrough`` marker) is run command by command with the
real curl against a live server, ``BASE`` and ``ORIGIN`` pointed at it. The comment under each
command is its expectation: an optional status (200 when absent), then the answer, where every
``"key": <literal>`` shown must be in the JSON answer with that value (``"..."`` stands for any
value) and ``null`` means the JSON null.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveServer, live_server, make_live_server  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CURL = shutil.which("curl")


@dataclass(frozen=True)
class Step:
    command: str
    expectation: str


def walkthrough() -> tuple[dict[str, str], list[Step]]:
    """The walk-through's variables and its (command, expectation) pairs, in order."""
    start = README.index("<!-- walkthrough")
    block = README[start:].split("```sh\n", 1)[1].split("```", 1)[0]
    variables: dict[str, str] = {}
    steps: list[Step] = []
    command = ""
    for line in block.splitlines():
        if command.endswith("\\"):
            command = command[:-1] + " " + line.strip()
            continue
        if command:  # the line right after a complete command: its expectation
            assert line.startswith("# "), f"no expectation under: {command}"
            steps.append(Step(command, line[2:]))
            command = ""
            continue
        if match := re.fullmatch(r"([A-Z]+)=(\S+)(\s+#.*)?", line):
            variables[match[1]] = match[2]
        elif line.startswith("curl "):
            command = line
        else:
            assert not line.strip() or line.startswith("#"), line
    return variables, steps


def found(value: Any, key: str, expected: Any) -> bool:
    """Whether ``key`` occurs anywhere in ``value`` (with ``expected`` unless it is ``...``)."""
    if isinstance(value, dict):
        if key in value and (expected is Ellipsis or value[key] == expected):
            return True
        return any(found(item, key, expected) for item in value.values())
    if isinstance(value, list):
        return any(found(item, key, expected) for item in value)
    return False


def check(step: Step, status: int, body: Any) -> None:
    expected_status = re.match(r"(\d{3}) ", step.expectation)
    assert status == (int(expected_status[1]) if expected_status else 200), (step, status, body)
    if step.expectation.startswith("null"):
        assert body is None, (step, body)
        return
    pairs = re.findall(r'"(\w+)": ("[^"]*"|true|false|null|\{)', step.expectation)
    assert pairs, step
    for key, literal in pairs:
        expected = Ellipsis if literal in ('"..."', "{") else json.loads(literal)
        assert found(body, key, expected), f"{step.command}\n  wanted {key}: {literal}\n  got {body}"


def test_walkthrough_commands_are_the_documented_ones() -> None:
    variables, steps = walkthrough()
    assert variables == {"BASE": "http://localhost:5000/api/v1/auth", "ORIGIN": "http://localhost:5000"}
    paths = [re.search(r'"\$BASE(/[^"]+)"', step.command)[1] for step in steps]  # type: ignore[index]
    assert paths == [
        "/sign-up/email", "/get-session", "/sign-out", "/sign-out", "/get-session", "/sign-in/email"
    ]


@pytest.mark.skipif(CURL is None, reason="needs curl (apt-get install -y curl)")
def test_walkthrough_works_against_a_live_server(live_server: LiveServer, tmp_path: Path) -> None:  # noqa: F811
    variables, steps = walkthrough()
    env = {"PATH": "/usr/bin:/bin", "BASE": live_server.auth_url, "ORIGIN": live_server.url}
    assert set(variables) == {"BASE", "ORIGIN"}
    for step in steps:
        done = subprocess.run(
            ["bash", "-c", step.command + " -w '\\n%{http_code}'"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 0, (step, done.stderr)
        text, _, status = done.stdout.rpartition("\n")
        check(step, int(status), json.loads(text))
    # The cookie jar holds the session of the last sign-in, as the walk-through says.
    assert "better-auth.session_token" in (tmp_path / "jar.txt").read_text()


def test_conformance_step_count() -> None:
    from tests.conformance.test_against_better_auth import STEPS

    figures = re.findall(r"`tests/conformance/` replays (\d+) steps", README)
    assert figures == [str(len(STEPS))], f"README says {figures}, scenario.mjs has {len(STEPS)} steps"
