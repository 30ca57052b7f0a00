"""The example tenant resource, ``/api/v1/projects``: how a product route is written.

Registered only with the example module on (``MODULES__EXAMPLE=true``), which needs the tenant
module: without it every signed-in user would list every organization's projects.

Guards in order: ``require_auth`` (401), ``require_tenant`` (400 without a tenant), then
``require_permission`` on the ``project`` statements of :mod:`app.access_control` (403). The
queries carry no tenant filter of their own: :class:`~app.modules.tenant.TenantScoped` adds it, so
another tenant's project is simply not found (404), by id, by list or by bulk delete.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from flask import Blueprint
from flask.typing import ResponseReturnValue
from pydantic import Field
from sqlalchemy import delete, select

from app.core.api import ApiModel, endpoint
from app.core.errors import ApiError
from app.core.identity import current
from app.extensions import db, rows_matched
from app.modules import audit_logger, require_auth, require_permission, require_tenant
from app.modules.example.models import Project

bp = Blueprint("example", __name__, url_prefix="/api/v1")

TAGS = ["Projects"]
Name = Annotated[str, Field(min_length=1, max_length=255)]
Description = Annotated[str | None, Field(max_length=10_000)]


class ProjectIn(ApiModel):
    name: Name
    description: Description = None


class ProjectPatch(ApiModel):
    name: Name | None = None
    description: Description = None


#: A project id as the API makes them (``uuid4().hex``), or any id of 1 to 36 URL-safe characters.
ProjectId = Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9_-]+$")]


class BulkDeleteIn(ApiModel):
    ids: Annotated[list[ProjectId], Field(min_length=1, max_length=500)]


class ProjectOut(ApiModel):
    id: str
    organization_id: str | None = Field(alias="organizationId")
    name: str
    description: str | None
    created_by: str | None = Field(alias="createdBy")
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")


class ProjectList(ApiModel):
    projects: list[ProjectOut]


class Deleted(ApiModel):
    deleted: int



def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

def _json(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "organizationId": project.organization_id,
        "name": project.name,
        "description": project.description,
        "createdBy": project.created_by,
        "createdAt": _iso(project.created_at),
        "updatedAt": _iso(project.updated_at),
    }


def _get(project_id: str) -> Project:
    project = db.session.get(Project, project_id)
    if project is None:
        raise ApiError(404, "PROJECT_NOT_FOUND", "Project not found")
    return project


def _caller_id() -> str | None:
    user = current().user
    return user.id if user is not None else None


def _log(action: str, project_id: str, details: dict[str, Any] | None = None) -> None:
    identity = current()
    tenant = identity.tenant
    audit_logger.log_async(actor_id=identity.user.id if identity.user else None, action=action, resource_type="project",
                           resource_id=project_id, details=details,
                           organization_id=tenant.id if tenant is not None else None)


@bp.get("/projects")
@require_auth
@require_tenant
@require_permission({"project": ["read"]})
@endpoint(summary="The tenant's projects", tags=TAGS, response=ProjectList,
          responses={400: "No tenant", 403: "Role lacks project:read"})
def list_projects() -> ResponseReturnValue:
    rows = db.session.scalars(select(Project).order_by(Project.created_at, Project.id)).all()
    return {"projects": [_json(p) for p in rows]}


@bp.post("/projects")
@require_auth
@require_tenant
@require_permission({"project": ["create"]})
@endpoint(summary="Create a project in the tenant", tags=TAGS, body=ProjectIn, response=ProjectOut,
          status=201, responses={400: "No tenant", 403: "Role lacks project:create"})
def create_project(body: ProjectIn) -> ResponseReturnValue:
    project = Project(id=uuid.uuid4().hex, name=body.name, description=body.description, created_by=_caller_id())
    db.session.add(project)
    db.session.commit()
    _log("project.create", project.id, {"name": project.name})
    return _json(project), 201


@bp.get("/projects/<project_id>")
@require_auth
@require_tenant
@require_permission({"project": ["read"]})
@endpoint(summary="One of the tenant's projects", tags=TAGS, response=ProjectOut,
          responses={404: "No such project in this tenant"})
def get_project(project_id: str) -> ResponseReturnValue:
    return _json(_get(project_id))


@bp.patch("/projects/<project_id>")
@require_auth
@require_tenant
@require_permission({"project": ["update"]})
@endpoint(summary="Update one of the tenant's projects", tags=TAGS, body=ProjectPatch, response=ProjectOut,
          responses={403: "Role lacks project:update", 404: "No such project in this tenant"})
def update_project(project_id: str, body: ProjectPatch) -> ResponseReturnValue:
    project = _get(project_id)
    if "name" in body.model_fields_set and body.name is not None:
        project.name = body.name
    if "description" in body.model_fields_set:
        project.description = body.description
    db.session.commit()
    _log("project.update", project.id, {"fields": sorted(body.model_fields_set)})
    return _json(project)


@bp.delete("/projects/<project_id>")
@require_auth
@require_tenant
@require_permission({"project": ["delete"]})
@endpoint(summary="Delete one of the tenant's projects", tags=TAGS, response=Deleted,
          responses={403: "Role lacks project:delete", 404: "No such project in this tenant"})
def delete_project(project_id: str) -> ResponseReturnValue:
    project = _get(project_id)
    db.session.delete(project)
    db.session.commit()
    _log("project.delete", project_id)
    return {"deleted": 1}


@bp.post("/projects/bulk-delete")
@require_auth
@require_tenant
@require_permission({"project": ["delete"]})
@endpoint(summary="Delete several of the tenant's projects by id (others' ids are ignored)", tags=TAGS,
          body=BulkDeleteIn, response=Deleted, responses={403: "Role lacks project:delete"})
def bulk_delete_projects(body: BulkDeleteIn) -> ResponseReturnValue:
    result = db.session.execute(
        delete(Project).where(Project.id.in_(body.ids)).execution_options(synchronize_session=False)
    )
    db.session.commit()
    count = rows_matched(result)
    _log("project.bulk_delete", ",".join(body.ids)[:255], {"deleted": count})
    return {"deleted": count}
