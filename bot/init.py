"""``chatops init``: write the commented configuration template as a first config file.

The template is the one shipped inside the package (``bot/config/template.toml``, which is
the repository's ``config.example.toml``), so ``init`` works from an installed wheel, away
from any clone. The file it writes runs the bot as it is: SQLite, the web server on
127.0.0.1:8080, and the local operator at ``chatops shell`` as administrator.

Invariant: an existing file is never overwritten unless ``force`` is given.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_PATH = Path("chatops.toml")


class InitError(Exception):
    """Why nothing was written, in one line for the operator."""


def template_text() -> str:
    return resources.files("bot.config").joinpath("template.toml").read_text(encoding="utf-8")


def write_config(path: Path, *, force: bool = False) -> None:
    if path.exists() and not force:
        raise InitError(f"{path} exists; keep it, or pass --force to replace it")
    try:
        path.write_text(template_text(), encoding="utf-8")
    except OSError as exc:
        raise InitError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None


def next_steps(path: Path) -> str:
    """What to run next; ``--config`` is spelt out unless ``path`` is the default file."""
    chatops = "chatops" if path == DEFAULT_PATH else f"chatops --config {path}"
    width = len(f"{chatops} migrate") + 2
    steps = (
        ("migrate", "create the database"),
        ("doctor", "check the configuration, the database and the enabled platforms"),
        ("shell", "type commands as you would in a chat: ping, help; exit to leave"),
        ("serve", "run the bot, once a platform's section is enabled in the file"),
    )
    lines = [
        f"wrote {path}: SQLite in chatops.sqlite3, the web server on 127.0.0.1:8080,",
        "and you at `chatops shell` as administrator. Next:",
        "",
        *(f"  {f'{chatops} {name}':<{width}}{what}" for name, what in steps),
        "",
        "Connecting Slack, Discord, GitHub or GitLab: README.md, Quick start.",
    ]
    return "\n".join(lines) + "\n"
