"""The one way a module, plugin or core part reads its own settings (docs/architecture.md, "Settings").

A part declares a :class:`Section` next to the code that uses it, with the environment prefix of its
variables::

    class JwtSettings(Section):
        model_config = SettingsConfigDict(env_prefix="AUTH__JWT__")
        expires_in: int = Field(default=900, ge=10)

and reads it with ``section(app, JwtSettings)`` (at start, in its ``init_app``: a wrong value stops
the start with the one-line :class:`config.ConfigError`) or ``current(JwtSettings)`` (in a request or
command). Values come from the environment and ``.env``, with ``create_app``'s overrides
(``app.config["SETTINGS_OVERRIDES"]``, env-style keys) on top. Each app builds a section once and
keeps it in ``app.extensions["settings"]``, keyed by class.

``config.Settings`` keeps only what the factory itself needs before any module exists (environment,
database, Redis, the module toggles, the auth core and CORS).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

from flask import Flask, current_app
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from config import ConfigError, describe_error

__all__ = ["Section", "SectionT", "current", "load", "loaded", "section"]

_EXTENSION = "settings"


class Section(BaseSettings):
    """Settings of one part; subclasses set ``env_prefix`` (``AUTH__JWT__``, ``MODULES__AUDIT__``...)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=False, env_file=".env")


SectionT = TypeVar("SectionT", bound=Section)


def load(model: type[SectionT], overrides: Mapping[str, Any] | None = None) -> SectionT:
    """Build ``model`` from the environment with ``overrides`` on top; raises :class:`ConfigError`."""
    prefix = str(model.model_config.get("env_prefix", "")).upper()
    picked: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if not key.upper().startswith(prefix) or key.upper() == prefix.rstrip("_"):
            continue
        *parents, leaf = key.upper().removeprefix(prefix).lower().split("__")  # MAIL__SMTP__HOST: nested
        if (parents[0] if parents else leaf) not in model.model_fields:
            continue
        node = picked
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    env_file = os.environ.get("APP_ENV_FILE", ".env") or None
    try:
        return model(_env_file=env_file, **picked)
    except ValidationError as error:
        raise ConfigError(describe_error(error, prefix)) from None


def section(app: Flask, model: type[SectionT]) -> SectionT:
    """``model`` as ``app`` is configured, built on first use and kept for the app's life."""
    cache: dict[type[Section], Section] = app.extensions.setdefault(_EXTENSION, {})
    found = cache.get(model)
    if not isinstance(found, model):
        found = cache[model] = load(model, app.config.get("SETTINGS_OVERRIDES"))
    return found


def loaded(app: Flask, model: type[SectionT]) -> SectionT | None:
    """``model`` when some part of ``app`` has read it (its plugin is set up), else None."""
    found = app.extensions.get(_EXTENSION, {}).get(model)
    return found if isinstance(found, model) else None


def current(model: type[SectionT]) -> SectionT:
    """``model`` for the current app (in a request, a command or an app context)."""
    return section(current_app, model)
