"""The self-hosted Scalar reference bundle: which version, where it lives, its integrity hash.

The API reference page loads ``@scalar/api-reference``'s standalone bundle (4 MB, so not in git):
``scripts/fetch_scalar.sh`` (run by ``scripts/setup.sh`` and the Dockerfile) takes the pinned
version from npm with ``npm pack`` (npm checks the registry's SHA-512) and checks the file against
:data:`SHA384` below; the page names the same hash in its ``integrity`` attribute (W3C Subresource
Integrity), so a changed file is refused by the browser too. Upgrading: change both constants
(``scripts/fetch_scalar.sh --print-hash`` prints the new hash).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FILE", "SHA384", "URL_PATH", "VERSION"]

#: Pinned ``@scalar/api-reference`` version (the browser test's ``tests/js/package.json`` uses the same).
VERSION = "1.72.1"
#: Subresource Integrity of ``dist/browser/standalone.js`` of that version.
SHA384 = "sha384-U11tb2XnKvmwt8RlTvnwUnYgrN+ur4Xyh9htLhjajWNR/Oyl5AX5DEz00qRmlrmK"
#: Where the fetched bundle is kept (ignored by git), and where the app serves it.
FILE = Path(__file__).resolve().parent / "static" / "scalar-standalone.js"
URL_PATH = "/api/v1/auth/reference/scalar-standalone.js"
