"""Request and response schemas of the organization routes (better-auth 1.7.25's bodies and shapes)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from app.core.api import MAX_OFFSET, ApiModel
from app.modules.auth.schemas import one_permission_map

Id = Annotated[str, Field(min_length=1, max_length=255)]
Slug = Annotated[str, Field(min_length=1, max_length=255)]
OrgName = Annotated[str, Field(min_length=1, max_length=255)]
Roles = Annotated[str | list[Annotated[str, Field(max_length=64)]], Field(max_length=255)]
Metadata = dict[str, Any]


class CreateOrganizationBody(ApiModel):
    name: OrgName
    slug: Slug
    logo: Annotated[str | None, Field(max_length=2048)] = None
    metadata: Metadata | None = None
    keep_current_active_organization: bool = Field(default=False, alias="keepCurrentActiveOrganization")


class CheckSlugBody(ApiModel):
    slug: Annotated[str, Field(max_length=255)]


class UpdateOrganizationData(ApiModel):
    name: OrgName | None = None
    slug: Slug | None = None
    logo: Annotated[str | None, Field(max_length=2048)] = None
    metadata: Metadata | None = None


class UpdateOrganizationBody(ApiModel):
    data: UpdateOrganizationData
    organization_id: Id | None = Field(default=None, alias="organizationId")


class OrganizationIdBody(ApiModel):
    organization_id: Id = Field(alias="organizationId")


class SetActiveBody(ApiModel):
    organization_id: Id | None = Field(default=None, alias="organizationId")
    organization_slug: Slug | None = Field(default=None, alias="organizationSlug")


class OrganizationQuery(ApiModel):
    organization_id: Id | None = Field(default=None, alias="organizationId")
    organization_slug: Slug | None = Field(default=None, alias="organizationSlug")


class FullOrganizationQuery(OrganizationQuery):
    members_limit: int | None = Field(default=None, alias="membersLimit", ge=1, le=10_000)


class ListMembersQuery(OrganizationQuery):
    limit: int | None = Field(default=None, ge=1, le=10_000)
    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)
    sort_by: Annotated[str | None, Field(max_length=64)] = Field(default=None, alias="sortBy")
    sort_direction: Annotated[str | None, Field(pattern="^(asc|desc)$")] = Field(default=None, alias="sortDirection")
    filter_field: Annotated[str | None, Field(max_length=64)] = Field(default=None, alias="filterField")
    filter_value: Annotated[str | None, Field(max_length=320)] = Field(default=None, alias="filterValue")
    filter_operator: Annotated[str | None, Field(max_length=16)] = Field(default=None, alias="filterOperator")


class ActiveMemberRoleQuery(OrganizationQuery):
    user_id: Id | None = Field(default=None, alias="userId")


class InviteMemberBody(ApiModel):
    email: Annotated[str, Field(max_length=320)]
    role: Roles
    organization_id: Id | None = Field(default=None, alias="organizationId")
    resend: bool = False
    team_id: Id | list[Id] | None = Field(default=None, alias="teamId")


class InvitationIdBody(ApiModel):
    invitation_id: Id = Field(alias="invitationId")


class InvitationQuery(ApiModel):
    id: Id


class ListInvitationsQuery(ApiModel):
    organization_id: Id | None = Field(default=None, alias="organizationId")


class ListUserInvitationsQuery(ApiModel):
    email: Annotated[str | None, Field(max_length=320)] = None


class UpdateMemberRoleBody(ApiModel):
    role: Roles
    member_id: Id = Field(alias="memberId")
    organization_id: Id | None = Field(default=None, alias="organizationId")


class RemoveMemberBody(ApiModel):
    member_id_or_email: Annotated[str, Field(min_length=1, max_length=320)] = Field(alias="memberIdOrEmail")
    organization_id: Id | None = Field(default=None, alias="organizationId")


PermissionMap = dict[Annotated[str, Field(max_length=64)], list[Annotated[str, Field(max_length=64)]]]


class HasPermissionBody(ApiModel):
    organization_id: Id | None = Field(default=None, alias="organizationId")
    permissions: PermissionMap | None = None
    #: Deprecated spelling better-auth still accepts.
    permission: PermissionMap | None = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, data: Any) -> Any:
        return one_permission_map(data)

    def requested(self) -> dict[str, list[str]]:
        return dict(self.permissions if self.permissions is not None else self.permission or {})


# -- responses ---------------------------------------------------------------------------------


class MemberUser(ApiModel):
    id: str
    name: str
    email: str
    image: str | None = None


class MemberOut(ApiModel):
    id: str
    organization_id: str = Field(alias="organizationId")
    user_id: str = Field(alias="userId")
    role: str
    created_at: str = Field(alias="createdAt")
    user: MemberUser | None = None


class OrganizationOut(ApiModel):
    id: str
    name: str
    slug: str
    logo: str | None = None
    created_at: str = Field(alias="createdAt")
    metadata: Metadata | None = None


class InvitationOut(ApiModel):
    id: str
    organization_id: str = Field(alias="organizationId")
    email: str
    role: str | None = None
    team_id: str | None = Field(default=None, alias="teamId")
    status: str
    expires_at: str = Field(alias="expiresAt")
    created_at: str = Field(alias="createdAt")
    inviter_id: str = Field(alias="inviterId")


class InvitationDetailsOut(InvitationOut):
    organization_name: str = Field(alias="organizationName")
    organization_slug: str = Field(alias="organizationSlug")
    inviter_email: str = Field(alias="inviterEmail")


class UserInvitationOut(InvitationOut):
    organization_name: str | None = Field(default=None, alias="organizationName")


class CreatedOrganizationOut(OrganizationOut):
    members: list[MemberOut]


class FullOrganizationOut(OrganizationOut):
    members: list[MemberOut]
    invitations: list[InvitationOut]


class MembersOut(ApiModel):
    members: list[MemberOut]
    total: int


class MemberWrapped(ApiModel):
    member: MemberOut


class RoleOut(ApiModel):
    role: str


class InvitationResultOut(ApiModel):
    invitation: InvitationOut | None
    member: MemberOut | None


class HasPermissionOut(ApiModel):
    error: str | None
    success: bool
