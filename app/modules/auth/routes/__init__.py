"""The auth blueprint: better-auth's core endpoints under ``/api/v1/auth``.

Each module imported here registers its routes on the blueprint when imported.
"""

from app.modules.auth.routes import account as account
from app.modules.auth.routes import email_password as email_password
from app.modules.auth.routes import misc as misc
from app.modules.auth.routes import provider_accounts as provider_accounts
from app.modules.auth.routes import session_update as session_update
from app.modules.auth.routes import sessions as sessions
from app.modules.auth.routes import verification as verification
from app.modules.auth.routes.common import bp

__all__ = ["bp"]
