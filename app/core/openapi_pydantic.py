"""An apispec plugin for pydantic models, as apispec's own ``MarshmallowPlugin`` is for marshmallow.

Operations name their schemas by the Python annotation (a model, ``list[Model]``, ``Model | None``, a
JSON-schema dict); the plugin turns each into a ``$ref``, registers every model it meets (and the
models nested in it, from pydantic's ``$defs``) as a component, and expands a query-parameter entry
``{"in": "query", "schema": Model}`` into one parameter per field. The schemas are pydantic's own
(validation mode), so the document describes exactly what the endpoints accept.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from apispec import APISpec, BasePlugin
from pydantic import BaseModel

REF = "#/components/schemas/{model}"


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation mentions (``list[A] | B`` -> ``[A, B]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in models_in(arg)]


class PydanticPlugin(BasePlugin):
    """Pydantic models as components; annotations in operations resolved to their schemas."""

    spec: APISpec

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        self.spec = spec
        self.names: dict[type[BaseModel], str] = {}

    def name_of(self, model: type[BaseModel]) -> str:
        """The component name of ``model``: its class name; when another model with a different
        schema already holds that name (``admin.UpdateUserBody`` beside the core one), prefixed with
        its package (``AdminUpdateUserBody``), so no operation points at another's schema."""
        name = self.names.get(model)
        if name is None:
            name = model.__name__
            holder = next((m for m, n in self.names.items() if n == name), None)
            if holder is not None and _schema(holder) != _schema(model):
                package = model.__module__.rsplit(".", 2)[-2]
                name = "".join(part.capitalize() for part in package.split("_")) + name
            self.names[model] = name
        return name

    # -- components -----------------------------------------------------------------------
    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        """``spec.components.schema(name, model=Model)``: the model's JSON schema, its nested models
        registered beside it."""
        model: type[BaseModel] | None = kwargs.get("model")
        if model is None:
            return None
        schema = model.model_json_schema(ref_template=REF)
        for nested, nested_schema in schema.pop("$defs", {}).items():
            if nested not in self.spec.components.schemas:
                self.spec.components.schema(nested, nested_schema)
        return schema

    def register(self, model: type[BaseModel]) -> str:
        name = self.name_of(model)
        if name not in self.spec.components.schemas:
            self.spec.components.schema(name, model=model)
        return name

    def schema_for(self, annotation: Any) -> dict[str, Any]:
        """A JSON schema for an annotation: a model (as a ``$ref``), ``list[...]``, a union, a dict."""
        if annotation is None:
            return {"type": "null"}
        if isinstance(annotation, dict):
            return annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return {"$ref": REF.format(model=self.register(annotation))}
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is list:
            return {"type": "array", "items": self.schema_for(args[0])}
        if origin in (typing.Union, types.UnionType):
            return {"anyOf": [self.schema_for(None if a is type(None) else a) for a in args]}
        raise TypeError(f"cannot describe type {annotation!r}")

    # -- operations -----------------------------------------------------------------------
    def _query(self, model: type[BaseModel]) -> list[dict[str, Any]]:
        self.register(model)  # listed among the components too, as every model of the API
        schema = model.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        return [
            {"name": name, "in": "query", "required": name in required, "schema": _untitled(prop)}
            for name, prop in schema.get("properties", {}).items()
        ]

    def _content(self, content: dict[str, Any]) -> None:
        for media in content.values():
            if "schema" in media:
                media["schema"] = self.schema_for(media["schema"])

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for operation in (operations or {}).values():
            parameters: list[dict[str, Any]] = []
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema")
                if parameter.get("in") == "query" and isinstance(schema, type) and issubclass(schema, BaseModel):
                    parameters.extend(self._query(schema))
                else:
                    parameters.append(parameter)
            if parameters:
                operation["parameters"] = parameters
            else:
                operation.pop("parameters", None)
            self._content(operation.get("requestBody", {}).get("content", {}))
            for response in operation.get("responses", {}).values():
                self._content(response.get("content", {}))


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(ref_template=REF)


def _untitled(prop: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in prop.items() if key != "title"}
