"""``[ci]``: how the CI commands (``status``, ``rescan``, ``restart``) and the run tracker behave.

- ``rescan_window_seconds``: a second ``rescan`` of the same head commit within this many
  seconds of the first joins the run the first one started instead of starting another.
- ``stuck_after_minutes``: a tracked run that has not changed for this long is looked up on
  the forge by the reconciler (``reconcile_cron``), so a lost webhook cannot leave it open.
- ``[[ci.workflows]]``: the workflow ``rescan`` dispatches for a repository; a repository
  without one gets the latest CI runs of the head commit re-run instead.

Invariants: repository names are stored in lower case (both forges treat them
case-insensitively); at most one workflow per forge and repository. No module state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config.errors import ConfigError
from bot.config.rules import _at_least, _cron, _non_empty, _one_of, _rules
from bot.config.section import _Section
from bot.messages import Forge


def _repository(value: str) -> str | None:
    parts = value.split("/")
    if len(parts) < 2 or any(not part.strip() or part != part.strip() for part in parts):
        return f"expected a repository such as 'acme/web' or 'group/sub/project', got {value!r}"
    return None


@dataclass(frozen=True, slots=True)
class CiWorkflow(_Section):
    """The workflow (a file name such as ``ci.yml``, or its id) ``rescan`` dispatches for a repo."""

    repo: str = field(metadata=_rules(_repository, normalize=str.lower))
    workflow: str = field(metadata=_rules(_non_empty))
    forge: str = field(
        default=Forge.GITHUB.value,
        metadata=_rules(_one_of(*(forge.value for forge in Forge)), normalize=str.lower),
    )


@dataclass(frozen=True, slots=True)
class CiSettings(_Section):
    rescan_window_seconds: int = field(default=120, metadata=_rules(_at_least(0)))
    stuck_after_minutes: int = field(default=60, metadata=_rules(_at_least(1)))
    reconcile_cron: str = field(default="*/10 * * * *", metadata=_rules(_cron))
    workflows: tuple[CiWorkflow, ...] = ()

    def _check(self) -> None:
        seen: set[tuple[str, str]] = set()
        for index, workflow in enumerate(self.workflows):
            key = (workflow.forge, workflow.repo)
            if key in seen:
                raise ConfigError(
                    f"workflows[{index}].repo",
                    f"{workflow.forge} repository {workflow.repo!r} already has a workflow; "
                    "give one per repository",
                )
            seen.add(key)

    def workflow_for(self, forge: Forge, repo: str) -> str | None:
        """The workflow configured for the repository, or None."""
        wanted = (forge.value, repo.lower())
        for workflow in self.workflows:
            if (workflow.forge, workflow.repo) == wanted:
                return workflow.workflow
        return None
