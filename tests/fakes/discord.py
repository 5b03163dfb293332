"""A fake Discord: the REST API and the gateway on one aiohttp server on 127.0.0.1, port 0.

The real discord.py client talks to it: REST through ``[discord] api_url`` (``api_url``
here, served under ``/api/v10``) and the gateway at the URL this fake's ``GET /gateway/bot``
returns. It is a ``tests.fakes.server.FakeServer``: one lifecycle (``async with
FakeDiscord() as fake``, or ``checked(FakeDiscord())`` to assert at the end that nothing
was violated), every REST request recorded in ``calls``, and one list of ``violations``: a
request body for an operation in the stored OpenAPI subset (``tests/fixtures/discord/openapi``)
is validated against its schema, and a violation answers 400 like Discord (code 50035); a
request to a route this fake does not serve answers 404; both are recorded.

The gateway sends HELLO, answers heartbeats, accepts IDENTIFY (closing with 4014 when a
privileged intent is asked for, as Discord does), sends READY and then whatever a test
``dispatch``-es. Frames are built from the docs' examples in ``tests/fixtures/discord``.

Failures are scripted per route (``fail_next``, or ``answer_next`` with the ``Answer``s
``rate_limited``, ``globally_rate_limited`` and ``error`` build; ``delay``) and served once
each, in order, before anything else is checked; the route is an ``fnmatch`` pattern over
``"METHOD /path"``, the path without ``/api/v10`` (``"POST /channels/*/messages"``). A route
given a bucket with ``set_bucket`` answers with ``X-RateLimit-Bucket`` (failures too), as
Discord names the bucket a route shares; each request records when it arrived
(``time.monotonic()``), for rate-limit tests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.fakes.server import Answer, FakeServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "discord"
SPEC_URI = "urn:discord-openapi"
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
UNKNOWN_WEBHOOK = 10015
ALREADY_ACKNOWLEDGED = 40060


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON as Discord sends it: discord.py reads a body as JSON only for exactly this type."""
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Call:
    """One REST request as the fake received it."""

    method: str
    path: str  # without the /api/v10 prefix
    body: Any
    authorization: str | None
    arrived: float = 0.0  # time.monotonic() when the request reached the fake


def rate_limited(retry_after: float) -> Answer:
    """A 429 as Discord sends it: JSON retry_after, Retry-After and a Via header."""
    return Answer(
        429,
        {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
        {
            "Retry-After": f"{retry_after:g}",
            "X-RateLimit-Scope": "user",
            "Via": "1.1 google",
        },
    )


def globally_rate_limited(retry_after: float) -> Answer:
    """A 429 of the bot's global limit, as Discord sends it."""
    return Answer(
        429,
        {"message": "You are being rate limited.", "retry_after": retry_after, "global": True},
        {
            "Retry-After": f"{retry_after:g}",
            "X-RateLimit-Global": "true",
            "X-RateLimit-Scope": "global",
            "Via": "1.1 google",
        },
    )


def error(status: int, code: int, message: str) -> Answer:
    return Answer(status, {"message": message, "code": code})


# the operations of the OpenAPI subset: (method, path pattern, spec path)
_OPERATIONS = (
    ("POST", r"/channels/(?P<channel>\d+)/messages", "/channels/{channel_id}/messages"),
    (
        "POST",
        r"/interactions/(?P<interaction>\d+)/(?P<token>[^/]+)/callback",
        "/interactions/{interaction_id}/{interaction_token}/callback",
    ),
    (
        "POST",
        r"/webhooks/(?P<application>\d+)/(?P<token>[^/]+)",
        "/webhooks/{webhook_id}/{webhook_token}",
    ),
    (
        "PATCH",
        r"/webhooks/(?P<application>\d+)/(?P<token>[^/]+)/messages/@original",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    ),
    (
        "PUT",
        r"/applications/(?P<application>\d+)/commands",
        "/applications/{application_id}/commands",
    ),
    (
        "PUT",
        r"/applications/(?P<application>\d+)/guilds/(?P<guild>\d+)/commands",
        "/applications/{application_id}/guilds/{guild_id}/commands",
    ),
    ("GET", r"/gateway/bot", "/gateway/bot"),
)


def _pointer(*parts: str) -> str:
    return "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="~") for p in parts)


class RequestSchemas:
    """Validators for the request bodies of the stored OpenAPI operations."""

    def __init__(self) -> None:
        spec = fixture("openapi/discord-rest-bot-subset.openapi.json")
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._spec = spec

    def problems(self, method: str, spec_path: str, body: Any) -> list[str]:
        operation = self._spec["paths"][spec_path][method.lower()]
        if "requestBody" not in operation:
            return [] if body is None else ["this operation takes no body"]
        ref = f"{SPEC_URI}#/" + _pointer(
            "paths",
            spec_path,
            method.lower(),
            "requestBody",
            "content",
            "application/json",
            "schema",
        )
        validator = Draft202012Validator({"$ref": ref}, registry=self._registry)
        return [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in validator.iter_errors(body)
        ]


class FakeDiscord(FakeServer[Call]):
    """``async with FakeDiscord() as fake:`` serves REST at ``api_url``, the gateway too."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        application_id: str = "775799577604522054",
        bot_user_id: str = "775799577604522054",
    ) -> None:
        super().__init__()
        self.token = token
        self.application_id = application_id
        self.bot_user_id = bot_user_id
        self.messages: list[dict[str, Any]] = []  # channel messages created
        self.callbacks: dict[str, dict[str, Any]] = {}  # interaction id -> callback body
        self.originals: dict[str, dict[str, Any]] = {}  # token -> the response's content
        self.follow_ups: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}  # scope -> definitions
        self.identifies: list[dict[str, Any]] = []
        self.heartbeats = 0
        self.gateway_connections = 0
        self.ready = asyncio.Event()
        self._buckets: dict[tuple[str, str], str] = {}
        self._schemas = RequestSchemas()
        self._ids = itertools.count(1_200_000_000_000_000_001)
        self._socket: web.WebSocketResponse | None = None
        self._sequence = 0
        self._tokens: dict[str, str] = {}  # interaction token -> interaction id
        self._nonces: dict[str, dict[str, Any]] = {}

    # --- the server ---------------------------------------------------------------------

    def routes(self) -> Iterable[web.AbstractRouteDef]:
        return [
            web.get("/gateway", self._gateway),
            web.route("*", "/api/v10/{path:.*}", self._rest),
        ]

    def error(self, request: web.Request, status: int) -> web.StreamResponse:
        return _json(
            {"message": f"{status}: {HTTPStatus(status).phrase}", "code": 0}, status=status
        )

    async def closing(self) -> None:
        if self._socket is not None:
            await self._socket.close()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/gateway"

    # --- test controls ------------------------------------------------------------------

    def set_bucket(self, method: str, path: str, bucket: str) -> None:
        """Name ``bucket`` in every answer to ``method path`` (a regex)."""
        self._buckets[(method, path)] = bucket

    def requests(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path)]

    def interaction_known(self, interaction_id: str, token: str) -> None:
        """Make ``token`` a live interaction token, as Discord does when it sends one."""
        self._tokens[token] = interaction_id

    def answered_over_http(self, interaction_id: str, token: str, response: Any) -> None:
        """Record the HTTP response to an interaction as its callback (HTTP endpoint mode)."""
        self._tokens[token] = interaction_id
        self.callbacks[interaction_id] = response

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send one dispatch frame (op 0) on the live session."""
        async with asyncio.timeout(10):
            await self.ready.wait()
        assert self._socket is not None
        if event == "INTERACTION_CREATE":
            self.interaction_known(str(data["id"]), str(data["token"]))
        self._sequence += 1
        frame = {**fixture("gateway/op0.dispatch.envelope.example.json")}
        frame.update(s=self._sequence, t=event, d=data)
        await self._socket.send_json(frame)

    async def drop_gateway(self) -> None:
        """Close the session from Discord's side (code 4000, "unknown error": reconnect)."""
        if self._socket is not None:
            self.ready.clear()
            await self._socket.close(code=4000)

    # --- gateway ------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.gateway_connections += 1
        self._socket = socket
        await socket.send_json(fixture("gateway/op10.hello.json"))
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            if frame["op"] == 1:
                self.heartbeats += 1
                await socket.send_json(fixture("gateway/op11.heartbeat_ack.json"))
            elif frame["op"] == 2:
                await self._identify(socket, frame["d"])
            elif frame["op"] == 6:
                self._sequence += 1
                await socket.send_json({"op": 0, "s": self._sequence, "t": "RESUMED", "d": {}})
                self.ready.set()
        if self._socket is socket:
            self.ready.clear()
            self._socket = None
        return socket

    async def _identify(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        if data.get("token") != self.token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return
        if int(data.get("intents", 0)) & PRIVILEGED_INTENTS:
            await socket.close(code=4014, message=b"Disallowed intent(s).")
            return
        self._sequence = 1
        ready = {
            "v": 10,
            "user": self.bot_user(),
            "guilds": [],
            "session_id": f"session-{self.gateway_connections}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.application_id, "flags": 0},
        }
        await socket.send_json({"op": 0, "s": self._sequence, "t": "READY", "d": ready})
        self.ready.set()

    # --- REST ---------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        path = "/" + request.match_info["path"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return _json({"message": "400: Bad Request", "code": 50109}, status=400)
        call = Call(request.method, path, body, request.headers.get("Authorization"), arrived)
        self.calls.append(call)
        response = await self._answer(request, path, call)
        for (method, pattern), bucket in self._buckets.items():
            if method == request.method and re.fullmatch(pattern, path):
                response.headers["X-RateLimit-Bucket"] = bucket
        return response

    async def _answer(self, request: web.Request, path: str, call: Call) -> web.StreamResponse:
        body = call.body
        await self.wait_delay(f"{request.method} {path}")
        scripted = self.take_answer(f"{request.method} {path}")
        if scripted is not None:
            if scripted.body is None:
                response = self.error(request, scripted.status)
                response.headers.update(scripted.headers)
                return response
            return _json(scripted.body, status=scripted.status, headers=dict(scripted.headers))
        for method, pattern, spec_path in _OPERATIONS:
            match = re.fullmatch(pattern, path)
            if method == request.method and match:
                problems = self._schemas.problems(method, spec_path, body)
                if problems:
                    for problem in problems:
                        self.violation(request, problem)
                    return _json(
                        fixture("rest/error.50035.invalid_form_body.request.json"), status=400
                    )
                return await self._operation(call, spec_path, match.groupdict())
        if request.method == "GET" and path == "/users/@me":
            return self._authorised(call) or _json(self.bot_user())
        if request.method == "GET" and path == "/oauth2/applications/@me":
            return self._authorised(call) or _json(self.application())
        self.violation(request, "no such route")
        return self.error(request, 404)

    def _authorised(self, call: Call) -> web.Response | None:
        if call.authorization == f"Bot {self.token}":
            return None
        return _json({"message": "401: Unauthorized", "code": 0}, status=401)

    async def _operation(self, call: Call, spec_path: str, params: dict[str, str]) -> web.Response:
        if spec_path == "/gateway/bot":
            found = fixture("rest/get_gateway_bot.response.json")
            found.update(url=self.gateway_url, shards=1)
            return self._authorised(call) or _json(found)
        if spec_path == "/channels/{channel_id}/messages":
            return self._authorised(call) or self._create_message(params["channel"], call.body)
        if spec_path.startswith("/applications/"):
            if denied := self._authorised(call):
                return denied
            scope = params.get("guild") or "global"
            self.commands[scope] = call.body
            registered = [
                {
                    **command,
                    "id": str(next(self._ids)),
                    "application_id": self.application_id,
                    "version": "1",
                }
                for command in call.body
            ]
            return _json(registered)
        return self._interaction_call(spec_path, params, call.body)

    def _interaction_call(self, spec_path: str, params: dict[str, str], body: Any) -> web.Response:
        token = params["token"]
        unknown_webhook = error(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        if spec_path.endswith("/callback"):
            interaction_id = params["interaction"]
            if self._tokens.get(token) != interaction_id:
                return _json({"message": "Unknown interaction", "code": 10062}, status=404)
            if interaction_id in self.callbacks:
                failure = error(
                    400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged."
                )
                return _json(failure.body, status=failure.status)
            self.callbacks[interaction_id] = body
            return web.Response(status=204)
        interaction_id = self._tokens.get(token)
        if params["application"] != self.application_id or interaction_id not in self.callbacks:
            return _json(unknown_webhook.body, status=unknown_webhook.status)
        if spec_path.endswith("@original"):
            self.originals[token] = body
        else:
            self.follow_ups.append(body)
        return _json(self._message_object("0", body))

    def _create_message(self, channel: str, body: dict[str, Any]) -> web.Response:
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce in self._nonces:
            return _json(self._nonces[nonce])
        created = self._message_object(channel, body)
        self.messages.append({"channel": channel, **body})
        if nonce is not None:
            self._nonces[nonce] = created
        return _json(created)

    # --- objects ------------------------------------------------------------------------

    def bot_user(self) -> dict[str, Any]:
        user = fixture("resources/user.example.json")
        user.update(id=self.bot_user_id, username="chatops", global_name=None, bot=True)
        for private in ("email", "verified", "premium_type", "collectibles", "primary_guild"):
            user.pop(private, None)
        return user

    def application(self) -> dict[str, Any]:
        # GET /oauth2/applications/@me: not in the stored subset; the fields discord.py reads
        return {
            "id": self.application_id,
            "name": "chatops",
            "icon": None,
            "description": "",
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": fixture("resources/user.example.json"),
            "verify_key": "0" * 64,
            "flags": 0,
            "interactions_endpoint_url": None,
        }

    def _message_object(self, channel: str, body: dict[str, Any]) -> dict[str, Any]:
        message = fixture("resources/message.example.json")
        message.update(
            id=str(next(self._ids)),
            channel_id=channel,
            author=self.bot_user(),
            content=body.get("content") or "",
            embeds=body.get("embeds") or [],
            reactions=[],
        )
        return message


def interaction_payload(
    *,
    interaction_id: str,
    token: str,
    application_id: str,
    data: dict[str, Any],
    user_id: str = "53908232506183680",
    roles: tuple[str, ...] = ("539082325061836999",),
    channel_id: str = "645027906669510667",
    guild_id: str = "290926798626357999",
) -> dict[str, Any]:
    """An APPLICATION_COMMAND interaction, from the docs' example with our ids and data.

    Added, because discord.py requires them and the docs' example omits them:
    ``application_id``, ``version``, ``attachment_size_limit`` (interaction object table)
    and the member's ``flags`` (guild member object table).
    """
    payload = fixture("interactions/interaction.application_command.chat_input.json")
    payload["member"]["user"]["id"] = user_id
    payload["member"]["roles"] = list(roles)
    payload["member"]["flags"] = 0
    payload.update(
        id=interaction_id,
        token=token,
        application_id=application_id,
        version=1,
        attachment_size_limit=10 * 1024 * 1024,
        channel_id=channel_id,
        guild_id=guild_id,
        data=data,
    )
    return payload


def slash_data(command: str, sub_command: str, /, **options: object) -> dict[str, Any]:
    """``data`` of a chat-input interaction: ``/command sub_command option:value ...``."""
    types = {bool: 5, int: 4, str: 3}
    return {
        "id": "771825006014889984",
        "type": 1,
        "name": command,
        "options": [
            {
                "type": 1,
                "name": sub_command,
                "options": [
                    {"type": types[type(value)], "name": name, "value": value}
                    for name, value in options.items()
                ],
            }
        ],
    }


def message_payload(
    *,
    message_id: str,
    content: str,
    mentions: list[dict[str, Any]],
    author_id: str = "53908099506183680",
    roles: tuple[str, ...] = (),
    channel_id: str = "290926798999357250",
    guild_id: str = "290926798626357999",
    bot_author: bool = False,
) -> dict[str, Any]:
    """A MESSAGE_CREATE's data: the docs' example message, plus ``guild_id`` and ``member``
    (which the gateway adds for guild messages)."""
    message = fixture("resources/message.example.json")
    message["author"]["id"] = author_id
    if bot_author:
        message["author"]["bot"] = True
    message.update(
        id=message_id,
        content=content,
        mentions=mentions,
        channel_id=channel_id,
        guild_id=guild_id,
        member={
            "roles": list(roles),
            "joined_at": "2017-03-13T19:19:14.040000+00:00",
            "deaf": False,
            "mute": False,
        },
    )
    return message
