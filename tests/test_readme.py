"""The README stays true: its curl walk-through works as written, its figures match the code, and
every relative link in it and in ``docs/*.md`` reaches a file of the repository (and a heading there).

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


# Links between the pages. GitHub turns a heading into an anchor by dropping markup and punctuation,
# lower-casing and replacing spaces with "-" (a repeated heading gets "-1", "-2", ...).

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def prose(markdown: str, spans: bool = True) -> str:
    """The text outside fenced code blocks (and code spans, unless ``spans`` is false): no links there."""
    kept: list[str] = []
    fence = ""
    for line in markdown.splitlines():
        marker = re.match(r"\s*(`{3,}|~{3,})", line)
        if fence:
            if marker and marker[1][0] == fence[0] and len(marker[1]) >= len(fence):
                fence = ""
        elif marker:
            fence = marker[1]
        else:
            kept.append(re.sub(r"(`+).+?\1", "", line) if spans else line)
    return "\n".join(kept)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every anchor a page's headings make (code blocks skipped: a ``# comment`` is no heading)."""
    found_: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose(markdown, spans=False).splitlines():
        if heading := re.match(r" {0,3}#{1,6}\s+(.*?)(\s+#+)?\s*$", line):
            slug = github_slug(heading[1].replace("`", ""))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found_.add(slug if count == 0 else f"{slug}-{count}")
    return found_


def broken_links(pages: list[Path], root: Path) -> list[str]:
    """``page: link (why)`` for each relative link that leaves ``root``, misses its file or its heading."""
    root = root.resolve()
    broken: list[str] = []
    for page in pages:
        for link in LINK.findall(prose(page.read_text(encoding="utf-8"))):
            if SCHEME.match(link):
                continue  # https:, mailto:: not a file of ours
            path, _, anchor = link.partition("#")
            target = (page.parent / path).resolve() if path else page.resolve()
            where = f"{page.relative_to(root)}: {link}"
            if path.startswith("/") or not target.is_relative_to(root):
                broken.append(f"{where} (outside the repository)")
            elif not target.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and (target.suffix != ".md" or anchor not in anchors(target.read_text(encoding="utf-8"))):
                broken.append(f"{where} (no heading with that anchor)")
    return broken


def test_every_link_between_the_pages_resolves() -> None:
    assert len(PAGES) > 5, PAGES
    assert broken_links(PAGES, ROOT) == []


def test_the_link_check_reports_each_kind_of_broken_link(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (tmp_path / "outside.md").write_text("# Outside\n")
    (repo / "docs" / "b.md").write_text(
        "# B\n\n## Front ends on other origins (CORS)\n\n## Notes\n\n## Notes\n\n```sh\n# not a heading\n```\n"
    )
    (repo / "README.md").write_text(
        "[ok](docs/b.md#front-ends-on-other-origins-cors) [ok](docs/b.md#notes-1) [ok](#top) "
        "[web](https://example.com/x.md) `[code](nowhere.md)`\n\n# Top\n\n"
        "[gone](docs/missing.md) [anchor](docs/b.md#cors) [comment](docs/b.md#not-a-heading) "
        "[out](../outside.md) [abs](/etc/passwd) ![img](docs/shot.png)\n"
    )
    assert broken_links([repo / "README.md", repo / "docs" / "b.md"], repo) == [
        "README.md: docs/missing.md (no such file)",
        "README.md: docs/b.md#cors (no heading with that anchor)",
        "README.md: docs/b.md#not-a-heading (no heading with that anchor)",
        "README.md: ../outside.md (outside the repository)",
        "README.md: /etc/passwd (outside the repository)",
        "README.md: docs/shot.png (no such file)",
    ]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Front ends on other origins (CORS)", "front-ends-on-other-origins-cors"),
        ("Passwordless sign-in: passkeys, magic links", "passwordless-sign-in-passkeys-magic-links"),
        ("Another tenant's ids answer as unknown ones", "another-tenants-ids-answer-as-unknown-ones"),
        ('Issue 13, "Fast": the profile', "issue-13-fast-the-profile"),
        ("Workloads (`bench/workloads/core.py`)", "workloads-benchworkloadscorepy"),
    ],
)
def test_github_slug(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug
