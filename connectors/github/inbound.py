"""``POST /webhooks/github``: verify, persist, answer, in that order and nothing more.

GitHub counts a delivery as failed after 10 seconds and does not retry it, so the
handler does only what must happen before the answer: check the signature header, read
the body (capped, timed, hashed as it streams), decode, and write the commands to the
inbox (one 👀 acknowledgement per comment). Running the commands and replying happen
later, in the workers.

Answers, in the order they are decided:
- 401 for a missing, duplicated, malformed or SHA-1-only signature header, before a byte
  of the body is read;
- 413 for a body over the cap (from ``Content-Length`` before reading, or while reading);
  408 for a body that does not arrive within ``body_timeout``; 503 (``Retry-After``) when
  every slot for unverified bodies stays busy (``connectors.webhook_body``);
- 401 for a signature that does not match; nothing else happens;
- 400 for a signed delivery without (or with odd) event or delivery headers, or whose body
  is not a JSON object of the expected shape (nesting too deep included);
- 200 for ``ping``; 202 for everything else, including events deliberately ignored and
  comments whose names or numbers fall outside GitHub's grammar (logged);
- for a CI update (``workflow_run``, ``check_suite``): 202 once the run tracker
  (``ci_events``) has observed it, 202 "no CI tracking" when nothing tracks runs, and
  500 when observing failed, so GitHub shows the delivery as failed and it can be
  redelivered (App mode does that itself, see ``connectors.github.recovery``).

Every refusal is counted per reason and logged at most once a minute
(``connectors.rejections``).

Invariants: the signature is checked over the raw bytes before anything parses them. A
delivery signed with a per-hook secret (``setup-repo``) is accepted only for that hook's
repository, so one repository's secret cannot speak for another. A comment's commands are
keyed by the comment, not the delivery: the same comment delivered twice, under any
delivery id, inserts nothing. At most ``limits.max_commands`` invocations and one notice
come from one comment, so the work before the ack is bounded whatever the comment holds.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.forge import CiEventSink
from bot.metrics import Counter
from bot.pipeline.intake import Intake
from connectors import budget
from connectors.forge_intake import submit_comment
from connectors.github import protocol
from connectors.github.hooks import HookSecret, HookSecrets
from connectors.github.installations import AppInstallations
from connectors.github.protocol import (
    CiUpdate,
    Commands,
    Identity,
    Ignored,
    InstallationChange,
    Invalid,
    Ping,
    decode,
    valid_repository,
)
from connectors.rejections import Rejections
from connectors.webhook_body import (
    BodyLimits,
    BodyTimeout,
    BodyTooLarge,
    Busy,
    UnverifiedBodies,
    read_body,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
# GitHub's event names are snake_case words; delivery ids are GUIDs (tests use short ids)
_EVENT = re.compile(r"[a-z_]{1,64}")
_DELIVERY = re.compile(r"[A-Za-z0-9-]{1,100}")
_HOOK_ID = re.compile(r"[0-9]{1,20}")
SLOT_WAIT = 1.0


@dataclass(frozen=True, slots=True)
class Signer:
    """Whose secret signed a delivery: a configured one (``repo`` None, any repository) or
    a hook's own (only that hook's repository)."""

    repo: str | None


@dataclass
class WebhookReceiver:
    secrets: Sequence[str]
    hook_secrets: HookSecrets
    identity: Identity
    installations: AppInstallations | None
    intake: Intake
    ci_events: CiEventSink | None  # None when no feature follows CI
    max_body_bytes: int
    clock: Clock
    log: logging.Logger
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex
    limits: budget.Limits = field(default_factory=budget.Limits)
    body_timeout: float = 10.0
    unverified: UnverifiedBodies = field(default_factory=lambda: UnverifiedBodies(4, SLOT_WAIT))
    rejected: Counter | None = None  # the application's rejection counter, if any
    rejections: Rejections = field(init=False)

    def __post_init__(self) -> None:
        self.rejections = Rejections(
            door="github",
            counter=self.rejected or Counter("rejected", "refused requests"),
            monotonic=self.clock.monotonic,
            log=self.log,
        )

    async def handle(self, request: web.Request) -> web.Response:
        delivery_header = request.headers.get("X-GitHub-Delivery", "")
        header = self._signature_header(request)
        if header is None:
            return _error(401, "invalid signature")
        hook = await self._hook(request)
        keys = [*self.secrets, *([hook.secret] if hook is not None else [])]
        macs = protocol.macs(keys)
        limits = BodyLimits(max_bytes=self.max_body_bytes, read_timeout=self.body_timeout)
        try:
            async with self.unverified.slot():
                body = await read_body(request, limits, macs)
        except BodyTooLarge:
            self.rejections.reject("too_large")
            return _error(413, "payload too large")
        except BodyTimeout:
            self.rejections.reject("body_timeout")
            return _error(408, "the body did not arrive in time")
        except Busy:
            self.rejections.reject("busy")
            return _error(503, "busy; try again", headers={"Retry-After": "1"})
        matches = protocol.matching(header, macs)
        if any(matches[: len(self.secrets)]):
            signer = Signer(repo=None)
        elif hook is not None and matches[-1]:
            signer = Signer(repo=hook.repo.lower())
        else:
            self.rejections.reject("bad_signature", f"delivery {delivery_header[:100]!r}")
            return _error(401, "invalid signature")
        event = _single(request, "X-GitHub-Event")
        delivery = _single(request, "X-GitHub-Delivery")
        if not event or not delivery:
            return self._malformed("missing X-GitHub-Event or X-GitHub-Delivery")
        if not _EVENT.fullmatch(event) or not _DELIVERY.fullmatch(delivery):
            return self._malformed("malformed X-GitHub-Event or X-GitHub-Delivery")
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            repository = _repository(payload)
            if repository is not None and not valid_repository(repository):
                return self._invalid(Invalid("repository.full_name is not owner/name"), delivery)
            if signer.repo is not None and (repository or "").lower() != signer.repo:
                self.rejections.reject("foreign_repository", f"delivery {delivery}")
                return _error(401, "the hook's secret does not cover this repository")
            decoded = decode(
                event,
                delivery,
                payload,
                identity=self.identity,
                received_at=self.clock.now(),
                new_id=self.new_id,
                limits=self.limits,
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            return self._malformed("malformed payload", f"{type(exc).__name__} in {delivery}")
        return await self._act(decoded, event, delivery)

    def _signature_header(self, request: web.Request) -> str | None:
        """The one well-formed signature header, or None (refusal counted)."""
        given = request.headers.getall(SIGNATURE_HEADER, [])
        if len(given) == 1 and protocol.well_formed(given[0]):
            return given[0]
        if not given:
            reason = "no_signature"
        elif len(given) > 1:
            reason = "duplicate_signature"
        else:
            reason = "malformed_signature"
        self.rejections.reject(reason)
        return None

    async def _hook(self, request: web.Request) -> HookSecret | None:
        """The per-hook secret the delivery's ``X-GitHub-Hook-ID`` names, if one is stored."""
        hook_id = request.headers.get("X-GitHub-Hook-ID", "")
        if not _HOOK_ID.fullmatch(hook_id):
            return None
        return await self.hook_secrets.lookup(hook_id)

    def _malformed(self, message: str, detail: str = "") -> web.Response:
        self.rejections.reject("malformed", detail or message)
        return _error(400, message)

    def _invalid(self, invalid: Invalid, delivery: str) -> web.Response:
        self.rejections.reject("invalid_field", f"{invalid.reason} (delivery {delivery})")
        return web.json_response({"ignored": invalid.reason}, status=202)

    async def _act(self, decoded: Any, event: str, delivery: str) -> web.Response:
        if isinstance(decoded, Ping):
            return web.json_response({"ok": True, "event": "ping"})
        if isinstance(decoded, InstallationChange):
            if self.installations is not None:
                await self.installations.record(decoded)
            return web.json_response({"recorded": event}, status=202)
        if isinstance(decoded, Invalid):
            return self._invalid(decoded, delivery)
        if isinstance(decoded, Ignored):
            self.log.debug("ignored %s: %s", event, decoded.reason, extra={"delivery": delivery})
            return web.json_response({"ignored": decoded.reason}, status=202)
        if isinstance(decoded, CiUpdate):
            return await self._observe(decoded, event, delivery)
        assert isinstance(decoded, Commands)
        taken = await submit_comment(self.intake, decoded.invocations, decoded.notices)
        return web.json_response(taken.as_json(), status=202)

    async def _observe(self, update: CiUpdate, event: str, delivery: str) -> web.Response:
        sink = self.ci_events
        if sink is None:
            return web.json_response({"ignored": "no CI tracking"}, status=202)
        try:
            await sink.observe(update.event)
        except Exception:
            self.log.exception(
                "could not record a GitHub CI update; GitHub may redeliver it",
                extra={"delivery": delivery},
            )
            return _error(500, "could not record the CI update")
        return web.json_response({"observed": event}, status=202)


def _single(request: web.Request, name: str) -> str | None:
    """The header's value when it is sent exactly once, else None."""
    values = request.headers.getall(name, [])
    return values[0] if len(values) == 1 else None


def _repository(payload: dict[str, Any]) -> str | None:
    repository = payload.get("repository")
    if isinstance(repository, dict) and "full_name" in repository:
        name = repository["full_name"]
        return name if isinstance(name, str) else repr(name)
    return None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)
