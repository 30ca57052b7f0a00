"""The organization plugin's settings (``AUTH__ORGANIZATION__*``), with better-auth's defaults."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section, current

ENV_PREFIX = "AUTH__ORGANIZATION__"


class TeamSettings(Section):
    """better-auth's ``teams`` options (``AUTH__ORGANIZATION__TEAMS__*``); off by default, as there."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "TEAMS__")

    enabled: bool = False
    #: Teams one organization may have; None: no limit.
    maximum_teams: int | None = Field(default=None, ge=1)
    #: Members one team may have; None: no limit.
    maximum_members_per_team: int | None = Field(default=None, ge=1)
    #: Off: an organization's last team cannot be removed (better-auth's default).
    allow_removing_all_teams: bool = False
    #: A team named after the organization, with its creator in it, made with every organization.
    default_team_enabled: bool = True


class OrganizationSettings(Section):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    allow_user_to_create_organization: bool = True
    #: Organizations one user may belong to when creating another; None: no limit.
    organization_limit: int | None = Field(default=None, ge=1)
    membership_limit: int = Field(default=100, ge=1)
    invitation_limit: int = Field(default=100, ge=1)
    #: Seconds an invitation stays valid (better-auth: 48 h).
    invitation_expires_in: int = Field(default=172_800, ge=60)
    cancel_pending_invitations_on_re_invite: bool = False
    #: Only a verified email may read, accept or reject an invitation addressed to it: without it,
    #: whoever signs up first with the invited address joins (better-auth's
    #: requireEmailVerificationOnInvitation, on by default here).
    require_email_verification_on_invitation: bool = True
    #: The link mailed with an invitation; ``{base_url}`` and ``{id}`` are filled in.
    invitation_url: str = "{base_url}/accept-invitation/{id}"

    @property
    def teams(self) -> TeamSettings:
        """The ``AUTH__ORGANIZATION__TEAMS__*`` section (its own prefix)."""
        return current(TeamSettings)


def org_settings() -> OrganizationSettings:
    """Shorthand for ``current(OrganizationSettings)``."""
    return current(OrganizationSettings)
