#!/usr/bin/env python
"""The auth bridge diagnostic without the flask CLI: ``.venv/bin/python scripts/check_auth_bridge.py``.

Same checks and output as ``flask --app wsgi auth check`` (app/modules/auth/cli.py), on the app the
environment configures; exit status 1 when a check fails, 2 when the settings are wrong.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    from app import ConfigError, create_app
    from app.modules import ensure_ready
    from app.modules.auth.cli import run_checks

    try:
        app = create_app()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    if "auth.bridge" not in app.extensions and "auth" not in app.extensions:
        print("FAIL auth-module: MODULES__AUTH is off, there is no bridge to check")
        return 1
    ensure_ready(app)
    results = run_checks(app)
    for result in results:
        print(result.line())
    failed = sum(not r.passed for r in results)
    print(f"auth check: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
