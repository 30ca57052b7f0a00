"""The lock files: the image runs exactly the versions the tests ran, and nothing in pyproject is missing.

``scripts/lock.sh`` writes both; these catch a hand edit, a forgotten refresh after a change to
``pyproject.toml`` (``pip check`` in ``scripts/setup.sh`` and the Dockerfile catches it too, later),
and a runtime lock that drifted from the dev lock.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def _pins(name: str) -> dict[tuple[str, str], set[str]]:
    """{(package, marker): {version + hashes}} of a lock file."""
    pins: dict[tuple[str, str], set[str]] = {}
    current: set[str] | None = None
    for line in (ROOT / name).read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = {match.group(2)}
            pins[(canonicalize_name(match.group(1)), (match.group(3) or "").strip())] = current
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            current.add(line.strip().removesuffix("\\").strip())
        elif not line.startswith(" "):
            current = None
    return pins


def _declared(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["optional-dependencies"][extra] if extra else project["dependencies"]
    names = {canonicalize_name(Requirement(spec).name) for spec in wanted}
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    return names | {canonicalize_name(Requirement(spec).name) for spec in build}


def test_every_package_is_pinned_with_hashes() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        pins = _pins(name)
        assert len(pins) > 20, name
        unhashed = [package for package, pinned in pins.items() if not any(p.startswith("--hash") for p in pinned)]
        assert not unhashed, f"{name}: {unhashed}"


def test_the_runtime_lock_is_the_dev_lock_s_subset() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert not [package for package in runtime if package not in dev]
    assert {package: pinned for package, pinned in runtime.items() if dev[package] != pinned} == {}


def test_every_declared_dependency_is_locked() -> None:
    runtime = {package for package, _marker in _pins("requirements.lock")}
    dev = {package for package, _marker in _pins("requirements-dev.lock")}
    assert _declared() - runtime == set(), "run scripts/lock.sh"
    assert (_declared() | _declared("dev")) - dev == set(), "run scripts/lock.sh"
    assert "requests" in runtime  # the one HTTP client is a runtime dependency (Authlib's requests_client)
    assert not {"pytest", "ruff", "mypy", "playwright", "uv"} & runtime
