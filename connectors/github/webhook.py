"""``POST /webhooks/github``: verify, persist, answer, in that order and nothing more.

GitHub counts a delivery as failed after 10 seconds and does not retry it, so the
handler does only what must happen before the answer: cap the body, check the
signature, decode, and write the commands to the inbox (with their 👀 acknowledgement).
Running the commands and replying happen later, in the workers.

Answers:
- 413 for a body over the cap (from ``Content-Length`` before reading, or while reading);
- 401 for a missing, malformed, SHA-1-only or wrong signature; nothing else happens;
- 400 for a signed delivery without event or delivery headers, or whose body is not a
  JSON object of the expected shape;
- 200 for ``ping``; 202 for everything else, including events deliberately ignored;
- for a CI update (``workflow_run``, ``check_suite``): 202 once the run tracker
  (``ci_events()``) has observed it, 202 "no CI tracking" when nothing tracks runs, and
  500 when observing failed, so GitHub shows the delivery as failed and it can be
  redelivered (App mode does that itself, see ``connectors.github.recovery``).

Invariants: the signature is checked over the raw bytes before anything parses them. A
delivery signed with a per-hook secret (``setup-repo``) is accepted only for that hook's
repository, so one repository's secret cannot speak for another. A redelivered command
(same ``X-GitHub-Delivery``) inserts nothing.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.forge import CiEventSink
from bot.pipeline import Pipeline
from connectors.github import signatures
from connectors.github.events import (
    CiUpdate,
    Commands,
    Identity,
    Ignored,
    InstallationChange,
    Ping,
    decode,
)
from connectors.github.hooks import HookSecrets
from connectors.github.installations import AppInstallations

READ_CHUNK = 64 * 1024


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
    pipeline: Callable[[], Pipeline]
    ci_events: Callable[[], CiEventSink | None]
    max_body_bytes: int
    clock: Clock
    log: logging.Logger
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex

    async def handle(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > self.max_body_bytes:
            return _error(413, "payload too large")
        body = await self._read(request)
        if body is None:
            return _error(413, "payload too large")
        signer = await self._verify(request, body)
        if signer is None:
            self.log.warning(
                "rejected a GitHub delivery with a bad signature",
                extra={"delivery": request.headers.get("X-GitHub-Delivery", "")},
            )
            return _error(401, "invalid signature")
        event = request.headers.get("X-GitHub-Event")
        delivery = request.headers.get("X-GitHub-Delivery")
        if not event or not delivery:
            return _error(400, "missing X-GitHub-Event or X-GitHub-Delivery")
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            if signer.repo is not None and _repository(payload) != signer.repo:
                return _error(401, "the hook's secret does not cover this repository")
            decoded = decode(
                event,
                delivery,
                payload,
                identity=self.identity,
                received_at=self.clock.now(),
                new_id=self.new_id,
            )
        except (ValueError, KeyError, TypeError) as exc:
            self.log.warning(
                "malformed GitHub delivery: %s", type(exc).__name__, extra={"delivery": delivery}
            )
            return _error(400, "malformed payload")
        return await self._act(decoded, event, delivery)

    async def _act(self, decoded: Any, event: str, delivery: str) -> web.Response:
        if isinstance(decoded, Ping):
            return web.json_response({"ok": True, "event": "ping"})
        if isinstance(decoded, InstallationChange):
            if self.installations is not None:
                await self.installations.record(decoded)
            return web.json_response({"recorded": event}, status=202)
        if isinstance(decoded, Ignored):
            self.log.debug("ignored %s: %s", event, decoded.reason, extra={"delivery": delivery})
            return web.json_response({"ignored": decoded.reason}, status=202)
        if isinstance(decoded, CiUpdate):
            return await self._observe(decoded, event, delivery)
        assert isinstance(decoded, Commands)
        pipeline = self.pipeline()
        accepted = 0
        for invocation in decoded.invocations:
            accepted += await pipeline.submit(invocation, acknowledge=True)
        duplicates = len(decoded.invocations) - accepted
        return web.json_response({"accepted": accepted, "duplicates": duplicates}, status=202)

    async def _observe(self, update: CiUpdate, event: str, delivery: str) -> web.Response:
        sink = self.ci_events()
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

    async def _read(self, request: web.Request) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(READ_CHUNK):
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _verify(self, request: web.Request, body: bytes) -> Signer | None:
        """Who signed ``body``: a configured secret or a hook's own; None if nothing did."""
        header = request.headers.get("X-Hub-Signature-256")
        if header is None:
            return None
        if signatures.verify(body, header, self.secrets):
            return Signer(repo=None)
        hook_id = request.headers.get("X-GitHub-Hook-ID")
        if not hook_id:
            return None
        hook = await self.hook_secrets.lookup(hook_id)
        if hook is not None and signatures.verify(body, header, (hook.secret,)):
            return Signer(repo=hook.repo.lower())
        return None


def _repository(payload: dict[str, Any]) -> str | None:
    repository = payload.get("repository")
    if isinstance(repository, dict) and "full_name" in repository:
        return str(repository["full_name"]).lower()
    return None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
