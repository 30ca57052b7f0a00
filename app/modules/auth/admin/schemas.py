"""Request and response schemas of the admin routes (better-auth 1.7.25 ``plugins/admin/routes``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from app.core.api import MAX_OFFSET, ApiModel
from app.modules.auth.schemas import Name, Password, SessionOut, UserOut, one_permission_map

#: A user id is a string (better-auth coerces numbers and booleans with ``z.coerce.string()``; an id
#: of another type is a caller's bug, answered 400 here rather than looked up as ``"false"``).
Id = Annotated[str, Field(min_length=1, max_length=64)]
RoleInput = str | list[str]
Permissions = dict[str, list[Annotated[str, Field(max_length=64)]]]
Operator = Literal["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "starts_with", "ends_with"]


class UserIdBody(ApiModel):
    user_id: Id = Field(alias="userId")


class CreateUserBody(ApiModel):
    email: Annotated[str, Field(max_length=320)]
    password: Password | None = None
    name: Name
    role: RoleInput | None = None
    data: dict[str, Any] | None = None


class UpdateUserBody(ApiModel):
    user_id: Id = Field(alias="userId")
    data: dict[str, Any]


class SetRoleBody(ApiModel):
    user_id: Id = Field(alias="userId")
    role: RoleInput


class BanUserBody(ApiModel):
    user_id: Id = Field(alias="userId")
    ban_reason: Annotated[str | None, Field(max_length=1000)] = Field(default=None, alias="banReason")
    ban_expires_in: Annotated[int | None, Field(ge=1, le=10 * 365 * 86400)] = Field(default=None, alias="banExpiresIn")


class SetUserPasswordBody(ApiModel):
    user_id: Id = Field(alias="userId")
    new_password: Annotated[str, Field(min_length=1, max_length=4096)] = Field(alias="newPassword")


class RevokeUserSessionBody(ApiModel):
    session_token: Annotated[str, Field(min_length=1, max_length=256)] = Field(alias="sessionToken")


class HasPermissionBody(ApiModel):
    user_id: Id | None = Field(default=None, alias="userId")
    role: Annotated[str | None, Field(max_length=255)] = None
    permission: Permissions | None = None
    permissions: Permissions | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_of(cls, data: Any) -> Any:
        return one_permission_map(data)


class GetUserQuery(ApiModel):
    id: Id


class ListUsersQuery(ApiModel):
    search_value: Annotated[str | None, Field(max_length=255)] = Field(default=None, alias="searchValue")
    search_field: Literal["email", "name"] | None = Field(default=None, alias="searchField")
    search_operator: Literal["contains", "starts_with", "ends_with"] | None = Field(default=None,
                                                                                   alias="searchOperator")
    limit: Annotated[int | None, Field(ge=0, le=1000)] = None
    offset: Annotated[int | None, Field(ge=0, le=MAX_OFFSET)] = None
    sort_by: Annotated[str | None, Field(max_length=64)] = Field(default=None, alias="sortBy")
    sort_direction: Literal["asc", "desc"] | None = Field(default=None, alias="sortDirection")
    filter_field: Annotated[str | None, Field(max_length=64)] = Field(default=None, alias="filterField")
    filter_value: Annotated[str | None, Field(max_length=1000)] = Field(default=None, alias="filterValue")
    filter_operator: Operator | None = Field(default=None, alias="filterOperator")


class UserResponse(ApiModel):
    user: UserOut


class UserList(ApiModel):
    users: list[UserOut]
    total: int
    limit: int | None = None
    offset: int | None = None


class SessionList(ApiModel):
    sessions: list[SessionOut]


class SessionAndUserResponse(ApiModel):
    session: SessionOut
    user: UserOut


class SuccessOut(ApiModel):
    success: bool


class StatusOut(ApiModel):
    status: bool


class PermissionResult(ApiModel):
    error: str | None
    success: bool
