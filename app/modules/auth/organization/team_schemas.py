"""Request and response schemas of the team routes (better-auth 1.7.25 ``routes/crud-team``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.core.api import ApiModel

Id = Annotated[str, Field(min_length=1, max_length=255)]
TeamName = Annotated[str, Field(min_length=1, max_length=255)]


class CreateTeamBody(ApiModel):
    name: TeamName
    organization_id: Id | None = Field(default=None, alias="organizationId")


class TeamIdBody(ApiModel):
    team_id: Id = Field(alias="teamId")
    organization_id: Id | None = Field(default=None, alias="organizationId")


class UpdateTeamData(ApiModel):
    name: TeamName | None = None
    #: The organization the team is looked up in (better-auth: not a field that changes).
    organization_id: Id | None = Field(default=None, alias="organizationId")


class UpdateTeamBody(ApiModel):
    team_id: Id = Field(alias="teamId")
    data: UpdateTeamData


class ListTeamsQuery(ApiModel):
    organization_id: Id | None = Field(default=None, alias="organizationId")


class SetActiveTeamBody(ApiModel):
    team_id: Id | None = Field(default=None, alias="teamId")


class ListUserTeamsQuery(ApiModel):
    user_id: Id | None = Field(default=None, alias="userId")
    organization_id: Id | None = Field(default=None, alias="organizationId")


class ListTeamMembersQuery(ApiModel):
    team_id: Id | None = Field(default=None, alias="teamId")


class TeamMemberBody(ApiModel):
    team_id: Id = Field(alias="teamId")
    user_id: Id = Field(alias="userId")
    organization_id: Id | None = Field(default=None, alias="organizationId")


class TeamOut(ApiModel):
    id: str
    name: str
    organization_id: str = Field(alias="organizationId")
    created_at: str = Field(alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")


class TeamMemberOut(ApiModel):
    id: str
    team_id: str = Field(alias="teamId")
    user_id: str = Field(alias="userId")
    created_at: str = Field(alias="createdAt")


class MessageOut(ApiModel):
    message: str
