"""Where ``flask audit anchor`` puts an anchor: a file (written atomically) or an HTTP endpoint."""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import click

TIMEOUT = 10.0


def write_atomically(path: Path, text: str) -> None:
    """Write, fsync and rename: a reader sees the old anchor or the new one, never half of one."""
    folder = path.resolve().parent
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def post_json(url: str, text: str) -> None:
    """POST the anchor; anything but a 2xx answer is a ``ClickException`` (exit 1) saying what came back."""
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("expected an http:// or https:// URL", param_hint="--url")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=text.encode(), method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        raise click.ClickException(f"{url} answered {error.code} to the anchor") from None
    except (urllib.error.URLError, OSError) as error:
        raise click.ClickException(f"could not POST the anchor to {url}: {error}") from None
    if not 200 <= status < 300:
        raise click.ClickException(f"{url} answered {status} to the anchor")
