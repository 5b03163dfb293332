"""``bot.schema`` names exactly the modules that define the bot's tables, the core's first:
a feature's models cannot be left out of the database, nor a stale name kept."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from tortoise.models import Model

from bot.schema import MODEL_MODULES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "connectors", "commands")


def modules_defining_models() -> list[str]:
    """Every module of the bot's packages that defines a Tortoise model, by importing them."""
    found = []
    for package in PACKAGES:
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if info.name == "bot.__main__":
                continue
            module = importlib.import_module(info.name)
            defined = [
                value
                for value in vars(module).values()
                if isinstance(value, type)
                and issubclass(value, Model)
                and value.__module__ == info.name
            ]
            if defined:
                found.append(info.name)
    return found


def test_the_schema_lists_every_module_with_models_and_no_other() -> None:
    assert (MODEL_MODULES[0], sorted(MODEL_MODULES)) == (
        "bot.store.models",
        sorted(modules_defining_models()),
    )
