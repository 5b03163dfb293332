"""What the web server needs of a configuration beyond its being valid: ``serve_problems``.

A valid ``Config`` is enough for every command (``chatops shell`` calls a forge's API with
its token alone). ``chatops serve`` needs more: each enabled platform's front door must be
able to authenticate what arrives. Each integration refuses to start without that
(``StartupError``); these are the same conditions, checked from the configuration alone so
that ``check-config`` and ``serve`` can name them all, with every other problem, before
anything starts.

Not here: what needs the database or the network. A GitHub section without
``webhook_secrets`` may still serve with the per-hook secrets that ``chatops github
setup-repo`` stored in the database; ``chatops doctor`` checks credentials and reachability.

Invariants: pure (no I/O, no secret value in a reason); a problem is a ``ConfigError`` with
the full key path, in the order of the sections.
"""

from __future__ import annotations

import base64
import binascii

from bot.config.errors import ConfigError
from bot.config.settings import Config

SIGNING_PREFIX = "whsec_"


def serve_problems(config: Config) -> tuple[ConfigError, ...]:
    """Why ``serve`` would refuse this configuration; empty when it would start."""
    problems: list[ConfigError] = []
    gitlab = config.gitlab
    if gitlab.enabled and not any(token.reveal() for token in gitlab.webhook_tokens):
        problems.append(
            ConfigError(
                "gitlab.webhook_tokens",
                "GitLab is enabled: give the secret token of the project's webhook "
                "(what GitLab sends as X-Gitlab-Token)",
            )
        )
    problems.extend(
        ConfigError(f"gitlab.signing_tokens[{index}]", "expected whsec_ followed by base64")
        for index, token in enumerate(gitlab.signing_tokens if gitlab.enabled else ())
        if not _is_signing_token(token.reveal())
    )
    return tuple(problems)


def _is_signing_token(token: str) -> bool:
    """``whsec_`` and base64, as ``connectors.gitlab.protocol.signing_key`` reads it."""
    try:
        base64.b64decode(token.removeprefix(SIGNING_PREFIX), validate=True)
    except binascii.Error:
        return False
    return True
