"""Every module imports on its own in a fresh interpreter, with no side effects."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "connectors", "commands")


def all_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if info.name != "bot.__main__":  # running it is its one effect
                names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("module", all_modules())
def test_module_imports_alone_without_side_effects(module: str, tmp_path: Path) -> None:
    probe = (
        "import importlib, logging, os, sys\n"
        f"importlib.import_module({module!r})\n"
        "assert logging.getLogger('chatops').handlers == [], 'logging configured at import'\n"
        "assert os.listdir('.') == [], 'files written at import'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
