"""Gather what ``secrets audit`` and ``secrets usage`` read about one repository.

``gather_facts`` asks the forge for the repository's secrets, CI files and latest runs, and
the store for its tracked expiry dates and reported uses, all at once (the forge calls
and the store reads are independent), and parses the CI files for references
(``bot.secrets.references``). ``gather_usage`` does the same for one ref's CI files,
without the secrets list (which needs more rights than reading files).

Invariants: no secret value is read or kept; a forge failure leaves as the client's
``ForgeError`` (the router answers it); nothing is written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.forge import CiFile, CiRun, CiSecret, ForgeClient
from bot.secrets.audit import AuditFacts
from bot.secrets.references import References, find_references
from bot.secrets.store import SecretRegistry, SecretUses, Tracked, Use


@dataclass(frozen=True, slots=True)
class SecretStores:
    """Where the bot keeps what the forge does not know about secrets."""

    registry: SecretRegistry
    uses: SecretUses


async def gather_facts(client: ForgeClient, repo: str, stores: SecretStores) -> AuditFacts:
    """Everything ``bot.secrets.audit.audit`` needs for ``repo`` (default branch files)."""
    secrets, files, runs, (tracked, uses) = await asyncio.gather(
        client.secrets(repo),
        client.ci_files(repo),
        client.latest_runs(repo),
        _stored(client, repo, stores),
    )
    return _facts(repo, secrets, files, runs, tracked, uses)


async def gather_usage(
    client: ForgeClient, repo: str, ref: str | None, stores: SecretStores
) -> AuditFacts:
    """``repo``'s CI files at ``ref`` with their references, latest runs and reported uses."""
    files, runs, (tracked, uses) = await asyncio.gather(
        client.ci_files(repo, ref), client.latest_runs(repo), _stored(client, repo, stores)
    )
    return _facts(repo, [], files, runs, tracked, uses)


async def _stored(
    client: ForgeClient, repo: str, stores: SecretStores
) -> tuple[list[Tracked], dict[str, Use]]:
    tracked = await stores.registry.for_repo(client.forge, repo)
    uses = await stores.uses.for_repo(client.forge, repo)
    return tracked, uses


def _facts(
    repo: str,
    secrets: list[CiSecret],
    files: list[CiFile],
    runs: dict[str, CiRun],
    tracked: list[Tracked],
    uses: dict[str, Use],
) -> AuditFacts:
    references: References = find_references(files)
    return AuditFacts(
        repo=repo,
        secrets=tuple(secrets),
        references=references,
        tracked=tuple(tracked),
        uses=uses,
        latest_runs=runs,
    )
