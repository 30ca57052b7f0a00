"""The passwordless client flows against a real better-auth with the same plugins, side by side.

``passwordless-reference.mjs`` runs better-auth 1.7.25 with ``emailOTP``, ``magicLink`` and
``@better-auth/passkey`` 1.7.6; ``tests/js/passwordless-flows.mjs`` drives the official clients
against it and against our app, and each flow's observations (statuses, error codes, body keys,
option shapes, redirect targets with the server's origin replaced) must be equal, except where
we differ on purpose (``DELIBERATE``), which is asserted separately.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_SECRET
from tests.jsenv import ensure_node_modules, run_node
from tests.live_server import SPA_ORIGIN, LiveServer, LiveServerFactory, make_live_server  # noqa: F401

pytestmark = pytest.mark.node

HERE = Path(__file__).resolve().parent
ALL_ON = {"AUTH__PASSKEY__ENABLED": "true", "AUTH__MAGIC_LINK__ENABLED": "true", "AUTH__EMAIL_OTP__ENABLED": "true"}

#: Steps where we answer otherwise on purpose: better-auth's answer, ours, and why.
DELIBERATE = {
    ("passkeyApi", "badRegistration"): (
        {"status": 500, "code": "FAILED_TO_VERIFY_REGISTRATION", "keys": None},
        {"status": 400, "code": "FAILED_TO_VERIFY_REGISTRATION", "keys": None},
        "a malformed credential is the client's error, never a 500",
    ),
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    ensure_node_modules()
    node = shutil.which("node")
    assert node
    outbox = tmp_path_factory.mktemp("reference-passwordless") / "outbox.jsonl"
    proc = subprocess.Popen(
        [node, str(HERE / "passwordless-reference.mjs"), str(outbox)],
        cwd=HERE,
        env={**os.environ, "BA_SECRET": TEST_SECRET, "BA_TRUSTED_ORIGINS": SPA_ORIGIN},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "reference server did not start"
        yield json.loads(line)["url"], outbox
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _observe(url: str, outbox: Path, flow: str) -> dict[str, Any]:
    out: dict[str, Any] = run_node("passwordless-flows.mjs", url, str(outbox), flow)
    return json.loads(json.dumps(out).replace(url, "<origin>"))


@pytest.mark.parametrize("flow", ["emailOtp", "magicLink", "passkeyApi"])
def test_flow_matches_better_auth(
    flow: str,
    reference: tuple[str, Path],
    make_live_server: LiveServerFactory,  # noqa: F811
) -> None:
    ours_server: LiveServer = make_live_server(**ALL_ON)
    theirs = _observe(*reference, flow)
    ours = _observe(ours_server.url, ours_server.outbox, flow)
    assert set(ours) == set(theirs)
    for step in theirs:
        if (flow, step) in DELIBERATE:
            expected_theirs, expected_ours, _why = DELIBERATE[(flow, step)]
            assert theirs[step] == expected_theirs, step
            assert ours[step] == expected_ours, step
        else:
            assert _without_extras(ours[step]) == _without_extras(theirs[step]), step
            for field in SUPERSET_FIELDS & set(theirs[step] if isinstance(theirs[step], dict) else ()):
                assert set(theirs[step][field]) <= set(ours[step][field]), (step, field)


#: User and session objects: ours carry the fields of every plugin we serve (admin, twoFactor,
#: organization, additional fields) and nulls the memory adapter leaves out; theirs must be a subset.
SUPERSET_FIELDS = {"userKeys", "sessionKeys"}


def _without_extras(step: Any) -> Any:
    if not isinstance(step, dict):
        return step
    return {k: v for k, v in step.items() if k not in SUPERSET_FIELDS}
