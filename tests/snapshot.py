"""Whole-output comparisons against files under ``tests/snapshots/``.

A test hands ``snapshot.check(name, text)`` (or ``check_json``) the whole output; the
output must equal the file ``tests/snapshots/<name>`` byte for byte, or the test fails
with the difference. ``pytest --update-snapshots`` rewrites the files from what the
tests produce instead (and creates missing ones), so a change in a listing (a new
command in ``help``, the Discord slash-command definitions, the Slack manifest) is a
regenerated file reviewed in the diff, not a hand-edited literal. Without the flag a
missing file fails too: nothing passes without a file to compare with.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE_OPTION = "--update-snapshots"


class Snapshot:
    def __init__(self, *, update: bool, directory: Path = SNAPSHOTS) -> None:
        self.update = update
        self.directory = directory

    def check(self, name: str, actual: str) -> None:
        """``actual`` must equal the snapshot file ``name`` (rewritten when updating)."""
        path = self.directory / name
        if self.update:
            if not path.exists() or path.read_text(encoding="utf-8") != actual:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(actual, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"no snapshot {name}: run pytest {UPDATE_OPTION} and review the new file")
        expected = path.read_text(encoding="utf-8")
        if actual != expected:
            diff = difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"tests/snapshots/{name}",
                "this run",
            )
            pytest.fail(
                f"the output differs from tests/snapshots/{name} (if the change is meant, "
                f"run pytest {UPDATE_OPTION} and review the file):\n" + "".join(diff),
                pytrace=False,
            )

    def check_json(self, name: str, value: Any) -> None:
        """``value`` as indented JSON (keys in the order given) must equal the file."""
        self.check(name, json.dumps(value, indent=2, ensure_ascii=False) + "\n")
