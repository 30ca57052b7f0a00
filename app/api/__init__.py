"""The application's own JSON API under ``/api/v1``: where a product's routes go, guarded by the
decorators from :mod:`app.modules`. ``/me`` shows the pattern; the example module
(``app/modules/example``, ``/api/v1/projects``) shows a tenant resource."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from app.core.api import ApiModel, endpoint
from app.core.identity import current
from app.modules import require_auth

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class Me(ApiModel):
    user: dict[str, object] | None
    session: dict[str, object] | None


@bp.get("/me")
@require_auth
@endpoint(
    summary="The signed-in user (an example of a guarded application route)",
    tags=["Application"],
    response=Me,
)
def me() -> ResponseReturnValue:
    identity = current()
    user = identity.user
    return {"user": user.json if user is not None else None, "session": identity.session}
