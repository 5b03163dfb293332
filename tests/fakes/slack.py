"""A fake Slack on 127.0.0.1, port 0: the Web API, ``response_url``s and Socket Mode.

The real ``AsyncWebClient`` reaches it through ``base_url`` (``fake.api_url``).

Web API (``/api/<method>``, GET or POST, form, query or JSON): the methods and their
required arguments are read from the spec subset in ``tests/fixtures/slack/web-api/``,
plus ``apps.connections.open`` and ``usergroups.list``, which that 2021 subset lacks
(their arguments as in Slack's method reference). An unknown method, a missing required
argument or a wrong token is answered as Slack would (``unknown_method``,
``invalid_arguments``, ``invalid_auth``) *and* recorded in ``violations``, which every test
using the fake checks is empty. It is a ``tests.fakes.server.FakeServer``: one lifecycle
(``async with FakeSlack() as slack``), a request to a path not served here is a violation
too, and answers can be scripted per method (``answer_next``/``fail_next``: a 429 with
``Retry-After``, an ``ok: false`` error) or delayed (``delay``), the route being the
method's name (``"chat.postMessage"``) or ``"response_url"``; otherwise the fixture's
``ok`` example is answered, with the caller's channel and a fresh ``ts``.

``response_url``s (``/response/<name>``) record what is posted to them.

Each Web API call records when it arrived (``time.monotonic()``), for pacing tests.

Socket Mode: ``apps.connections.open`` answers a ``ws://`` URL of ``/socket``. Each new
connection gets a ``hello``, then every envelope not yet acked, as Slack re-delivers them;
acks are recorded. ``drop_connections`` closes the sockets from the server side;
``send_then_drop`` sends an envelope and closes before its ack can count.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.server import Answer, FakeServer

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


class FakeSlack(FakeServer[Call]):
    """``async with FakeSlack() as slack:`` serves the Web API at ``slack.api_url``."""

    def __init__(self) -> None:
        super().__init__()
        self.methods = _spec_methods()
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.acks: list[Ack] = []
        self.connections = 0
        self.usergroups: list[dict[str, Any]] = []
        self._envelopes: list[Envelope] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)

    # ---------------------------------------------------------------- the server

    def routes(self) -> Iterable[web.AbstractRouteDef]:
        return [
            web.route("*", "/api/{method}", self._api),
            web.post("/response/{name}", self._response_url),
            web.get("/socket", self._socket),
        ]

    def error(self, request: web.Request, status: int) -> web.StreamResponse:
        if status == 404:
            return web.Response(status=404)
        return web.Response(status=status, text=HTTPStatus(status).phrase.lower())

    async def closing(self) -> None:
        for socket in list(self._sockets):
            await socket.close()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/response/{name}"

    # ---------------------------------------------------------------- inspection

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [call.args for call in self.calls if call.method == method]

    # ---------------------------------------------------------------- Web API

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        arrived = time.monotonic()
        args = await _arguments(request)
        token = _token(request, args)
        self.calls.append(Call(method, args, arrived))
        known = self.methods.get(method)
        if known is None:
            return self._refuse(request, "unknown method", "unknown_method")
        kind, required = known
        expected = APP_TOKEN if kind == "app" else BOT_TOKEN
        if token != expected:
            return self._refuse(request, f"wrong or missing {kind} token", "invalid_auth")
        missing = sorted(name for name in required if args.get(name) in (None, ""))
        if missing:
            return self._refuse(request, f"missing {', '.join(missing)}", "invalid_arguments")
        await self.wait_delay(method)
        scripted = self.take_answer(method)
        if scripted is not None:
            return self._respond(request, scripted)
        return web.json_response(self._ok(method, args))

    def _refuse(self, request: web.Request, violation: str, error: str) -> web.Response:
        self.violation(request, violation)
        return web.json_response({"ok": False, "error": error})

    def _respond(self, request: web.Request, answer: Answer) -> web.StreamResponse:
        headers = dict(answer.headers)
        if answer.body is None:
            response = self.error(request, answer.status)
            response.headers.update(headers)
            return response
        if isinstance(answer.body, str):
            return web.Response(status=answer.status, text=answer.body, headers=headers)
        return web.json_response(answer.body, status=answer.status, headers=headers)

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

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.responses.append((name, await request.json()))
        await self.wait_delay("response_url")
        scripted = self.take_answer("response_url")
        if scripted is not None:
            return self._respond(request, scripted)
        return web.Response(text="ok")

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
            self._ack(request, json.loads(message.data))
        self._sockets.remove(socket)
        return socket

    def _ack(self, request: web.Request, frame: dict[str, Any]) -> None:
        envelope = next(
            (e for e in self._envelopes if e.envelope_id == frame.get("envelope_id")), None
        )
        if envelope is None:
            self.violation(request, f"ack of an unknown envelope: {frame}")
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
