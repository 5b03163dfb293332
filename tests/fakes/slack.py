"""A fake Slack on 127.0.0.1, port 0: the Web API, ``response_url``s and Socket Mode.

The real ``AsyncWebClient`` reaches it through ``base_url`` (``fake.api_url``).

Web API (``/api/<method>``, GET or POST, form, query or JSON): the methods and their
required arguments are read from the spec subset in ``tests/fixtures/slack/web-api/``,
plus ``apps.connections.open`` and ``usergroups.list``, which that 2021 subset lacks
(their arguments as in Slack's method reference). An unknown method, a missing required
argument or a wrong token is answered as Slack would (``unknown_method``,
``invalid_arguments``, ``invalid_auth``) *and* recorded in ``problems``, which every test
using the fake checks is empty. Answers can be queued per method (a 429 with
``Retry-After``, an ``ok: false`` error); otherwise the fixture's ``ok`` example is
answered, with the caller's channel and a fresh ``ts``.

``response_url``s (``/response/<name>``) record what is posted to them.

Each Web API call records when it arrived (``time.monotonic()``), for pacing tests.

Socket Mode: ``apps.connections.open`` answers a ``ws://`` URL of ``/socket``. Each new
connection gets a ``hello``, then every envelope not yet acked, as Slack re-delivers them;
acks are recorded. ``drop_connections`` closes the sockets from the server side;
``send_then_drop`` sends an envelope and closes before its ack can count.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "slack"
SPEC = FIXTURES / "web-api" / "slack-web-api-bot-subset.swagger2.json"
EXAMPLES = FIXTURES / "web-api" / "response-examples"

BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"

# Methods the 2021 spec subset lacks: name -> (token kind, required arguments).
EXTRA_METHODS: dict[str, tuple[str, frozenset[str]]] = {
    "apps.connections.open": ("app", frozenset()),
    "usergroups.list": ("bot", frozenset()),
}


def _spec_methods() -> dict[str, tuple[str, frozenset[str]]]:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    methods: dict[str, tuple[str, frozenset[str]]] = {}
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            required = frozenset(
                p["name"]
                for p in operation.get("parameters", ())
                if p.get("required") and p["name"] != "token"
            )
            methods[path.lstrip("/")] = ("bot", required)
    return {**methods, **EXTRA_METHODS}


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    arrived: float = 0.0  # time.monotonic() when the request reached the fake


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: dict[str, Any] | str = field(default_factory=lambda: {"ok": True})
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Envelope:
    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    lose_first_ack: bool = False
    deliveries: int = 0

    def frame(self) -> str:
        return json.dumps(
            {
                "envelope_id": self.envelope_id,
                "type": self.type,
                "payload": self.payload,
                "accepts_response_payload": self.accepts_response_payload,
                "retry_attempt": self.deliveries,
                "retry_reason": "" if self.deliveries == 0 else "timeout",
            }
        )


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None


class FakeSlack:
    def __init__(self) -> None:
        self.methods = _spec_methods()
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.acks: list[Ack] = []
        self.connections = 0
        self.usergroups: list[dict[str, Any]] = []
        self._queued: dict[str, list[Answer]] = {}
        self._envelopes: list[Envelope] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.url = ""

    # ---------------------------------------------------------------- lifecycle

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls) -> AsyncIterator[FakeSlack]:
        fake = cls()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", fake._api)
        app.router.add_post("/response/{name}", fake._response_url)
        app.router.add_get("/socket", fake._socket)
        app.router.add_route("*", "/{tail:.*}", fake._unexpected)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        fake.url = f"http://{host}:{port}"
        try:
            yield fake
        finally:
            for socket in list(fake._sockets):
                await socket.close()
            await runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/response/{name}"

    # ---------------------------------------------------------------- scripting

    def queue(self, method: str, *answers: Answer) -> None:
        """Answer the next calls of ``method`` (or ``response_url``) with ``answers``."""
        self._queued.setdefault(method, []).extend(answers)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [call.args for call in self.calls if call.method == method]

    # ---------------------------------------------------------------- Web API

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arrived = time.monotonic()
        args = await _arguments(request)
        token = _token(request, args)
        self.calls.append(Call(method, args, arrived))
        known = self.methods.get(method)
        if known is None:
            return self._problem(f"unknown method {method}", "unknown_method")
        kind, required = known
        expected = APP_TOKEN if kind == "app" else BOT_TOKEN
        if token != expected:
            return self._problem(f"{method}: wrong or missing {kind} token", "invalid_auth")
        missing = sorted(name for name in required if args.get(name) in (None, ""))
        if missing:
            return self._problem(f"{method}: missing {', '.join(missing)}", "invalid_arguments")
        if self._queued.get(method):
            return _respond(self._queued[method].pop(0))
        return web.json_response(self._ok(method, args))

    def _problem(self, problem: str, error: str) -> web.Response:
        self.problems.append(problem)
        return web.json_response({"ok": False, "error": error})

    def _ok(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://{self.url.removeprefix('http://')}/socket"}
        if method == "usergroups.list":
            return {"ok": True, "usergroups": self.usergroups}
        body: dict[str, Any] = json.loads(
            (EXAMPLES / f"{method}.ok.json").read_text(encoding="utf-8")
        )
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            body.update(channel=args["channel"], ts=ts)
            body["message"] = {"type": "message", "text": args.get("text", ""), "ts": ts}
        return body

    async def _response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.responses.append((name, await request.json()))
        if self._queued.get("response_url"):
            return _respond(self._queued["response_url"].pop(0))
        return web.Response(text="ok")

    async def _unexpected(self, request: web.Request) -> web.Response:
        self.problems.append(f"unexpected request {request.method} {request.path}")
        return web.Response(status=404)

    # ---------------------------------------------------------------- Socket Mode

    async def send_envelope(self, type_: str, payload: dict[str, Any]) -> str:
        """Queue an envelope (as Slack does) and send it on the newest connection, if any."""
        envelope = self._envelope(type_, payload)
        await self._deliver(envelope)
        return envelope.envelope_id

    async def send_then_drop(self, type_: str, payload: dict[str, Any]) -> str:
        """Send an envelope and close every connection; an ack of it that arrives is lost."""
        envelope = self._envelope(type_, payload)
        envelope.lose_first_ack = True
        await self._deliver(envelope)
        await self.drop_connections()
        return envelope.envelope_id

    async def drop_connections(self) -> None:
        for socket in list(self._sockets):
            await socket.close(message=b"server going away")

    async def request_refresh(self) -> None:
        """Ask the client to reconnect, as Slack does before it recycles a connection."""
        for socket in list(self._sockets):
            await socket.send_str(json.dumps({"type": "disconnect", "reason": "refresh_requested"}))

    def acked(self, envelope_id: str) -> bool:
        return any(ack.envelope_id == envelope_id for ack in self.acks)

    def live_connections(self) -> int:
        return sum(1 for socket in self._sockets if not socket.closed)

    def _envelope(self, type_: str, payload: dict[str, Any]) -> Envelope:
        envelope = Envelope(
            envelope_id=f"env-{next(self._ids)}",
            type=type_,
            payload=payload,
            accepts_response_payload=type_ != "events_api",
        )
        self._envelopes.append(envelope)
        return envelope

    async def _deliver(self, envelope: Envelope) -> None:
        live = [socket for socket in self._sockets if not socket.closed]
        if live:
            await live[-1].send_str(envelope.frame())
            envelope.deliveries += 1

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.connections += 1
        self._sockets.append(socket)
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A111"}}
        await socket.send_str(json.dumps(hello))
        for envelope in list(self._envelopes):
            if not self.acked(envelope.envelope_id):
                await socket.send_str(envelope.frame())
                envelope.deliveries += 1
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            self._ack(json.loads(message.data))
        self._sockets.remove(socket)
        return socket

    def _ack(self, frame: dict[str, Any]) -> None:
        envelope = next(
            (e for e in self._envelopes if e.envelope_id == frame.get("envelope_id")), None
        )
        if envelope is None:
            self.problems.append(f"ack of an unknown envelope: {frame}")
            return
        if envelope.lose_first_ack:
            envelope.lose_first_ack = False
            return
        self.acks.append(Ack(envelope.envelope_id, frame.get("payload")))


async def _arguments(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(await request.post())
    return args


def _token(request: web.Request, args: Mapping[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ")
    token = args.get("token")
    return str(token) if token is not None else None


def _respond(answer: Answer) -> web.Response:
    if isinstance(answer.body, str):
        return web.Response(status=answer.status, text=answer.body, headers=answer.headers)
    return web.json_response(answer.body, status=answer.status, headers=answer.headers)
