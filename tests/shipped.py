"""Facts about what the repository ships, for tests that quote them in whole outputs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.toml"
# every migration the code ships, in the order they apply
MIGRATIONS = sorted(path.stem for path in (ROOT / "bot/store/migrations").glob("[0-9]*.py"))


def unapplied_message(count: int = len(MIGRATIONS)) -> str:
    names = ", ".join(MIGRATIONS[len(MIGRATIONS) - count :])
    return f"the database has {count} unapplied migration(s) ({names}); run `chatops migrate` first"
