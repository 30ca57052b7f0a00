"""docs/settings.md lists every setting a part declares (each ``Section`` next to its code): a
variable added without a line there fails here."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from pydantic import BaseModel

import app
from app.core.settings import Section

PAGE = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text(encoding="utf-8")


def _sections() -> list[type[Section]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: list[type[Section]] = []
    todo = list(Section.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _names(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else None
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.extend(_names(annotation, f"{prefix}{name.upper()}__"))
        else:
            names.append(alias.upper() if alias else f"{prefix}{name.upper()}")
    return names


def _documented(name: str) -> bool:
    if f"`{name}`" in PAGE:
        return True
    for row in PAGE.splitlines():  # a prefix table: | `AUTH__API_KEY__` | `HEADERS` x-api-key, ...
        found = re.match(r"\|\s*`([A-Z0-9_]+__)`\s*\|(.*)", row)
        if found and name.startswith(found[1]) and f"`{name.removeprefix(found[1])}`" in found[2]:
            return True
    return False


def test_every_declared_setting_is_on_the_settings_page() -> None:
    declared = {
        name
        for section in _sections()
        for name in _names(section, str(section.model_config.get("env_prefix", "")).upper())
    }
    assert len(declared) > 100  # every part's sections were found
    missing = sorted(name for name in declared if not _documented(name))
    assert missing == [], f"not in docs/settings.md: {missing}"


def test_the_check_sees_a_missing_setting() -> None:
    assert _documented("AUTH__API_KEY__START_LENGTH")
    assert not _documented("AUTH__API_KEY__NO_SUCH_SETTING")
