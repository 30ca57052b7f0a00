"""The magic-link plugin's settings (``AUTH__MAGIC_LINK__*``), better-auth's ``magicLink()`` options.

Defaults are better-auth 1.7's: links live 300 s; 5 requests per 60 s and client on
``sign-in/magic-link`` and ``magic-link/verify``; an unknown address gets an account when it follows
its link (``disable_sign_up=false``). ``address_max`` per ``address_window`` is ours: links mailed
to one address from one client, and four times that from all clients; past it the answer is the
same and nothing is sent (0 switches it off).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section

ENV_PREFIX = "AUTH__MAGIC_LINK__"


class MagicLinkSettings(Section):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    enabled: bool = False
    expires_in: int = Field(default=300, ge=1, le=86_400, description="seconds")
    #: better-auth ``disableSignUp``: following a link for an unknown address creates no user.
    disable_sign_up: bool = False
    rate_limit_window: int = Field(default=60, ge=1)
    rate_limit_max: int = Field(default=5, ge=1)
    address_window: int = Field(default=600, ge=1)
    address_max: int = Field(default=5, ge=0)

