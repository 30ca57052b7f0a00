"""``POST /update-session`` (better-auth ``routes/update-session``): the session's additional fields.

This deployment declares no session field a client may set (better-auth's ``session.additionalFields``
with ``input: true``); the plugins' own fields (``activeOrganizationId``, ``impersonatedBy``,
``activeTeamId``) change through their own routes only. So, as better-auth with the same
configuration: such a field is ``FIELD_NOT_ALLOWED``, anything else ``No fields to update``.
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from app.core.api import endpoint
from app.core.errors import ApiError
from app.modules.auth import schemas as s
from app.modules.auth.routes.common import TAGS, bp, require_session, session_guard

#: Session fields the plugins own (better-auth ``input: false``).
PLUGIN_FIELDS = ("activeOrganizationId", "impersonatedBy", "activeTeamId")


@bp.post("/update-session")
@endpoint(summary="Update the session's own fields (none are client-settable here)", tags=TAGS,
          body=s.UpdateSessionBody, response=s.UpdateSessionOut,
          responses={400: "No fields to update, or a field not allowed"})
@session_guard
def update_session(body: s.UpdateSessionBody) -> ResponseReturnValue:
    require_session()
    given = body.model_extra or {}
    for name in PLUGIN_FIELDS:
        if given.get(name):
            raise ApiError(400, "FIELD_NOT_ALLOWED", f"{name} is not allowed to be set")
    raise ApiError(400, "BAD_REQUEST", "No fields to update")
