"""The limit of the stack: a bare aiohttp GitHub webhook handler, with or without the reply.

Intent
    What any aiohttp bot must do at the least, measured next to the real one so that a
    shared, noisy machine hits both alike: read the body, verify ``X-Hub-Signature-256``
    (HMAC-SHA256 of the body, compared in constant time), ``json.loads`` it, answer 202
    ``{"accepted": 1}``; and, when given a GitHub API URL, post the reply comment (a quoted
    ``pong``) to the comment's thread after answering, through one keep-alive client
    session. Nothing is stored, nothing is retried, no 👀: the floor, not a bot.

``app`` builds it (``benchmarks.webhook_servers`` serves it in-process); ``python -m
benchmarks.bare_limit --port N [--api-url URL]`` serves it as a process of its own on
127.0.0.1, as ``chatops serve`` would be, with the webhook secret and the token read from
``BENCH_GITHUB_WEBHOOK_SECRET`` and ``BENCH_GITHUB_TOKEN``. It stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
from aiohttp import web

ROUTE = "/webhooks/github"  # the bot's route; this module imports nothing of the bot
SECRET_ENV = "BENCH_GITHUB_WEBHOOK_SECRET"
TOKEN_ENV = "BENCH_GITHUB_TOKEN"
REPLY_CONNECTIONS = 100
SESSION = web.AppKey("session", aiohttp.ClientSession)


def signature(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verified(body: bytes, header: str | None, secret: str) -> bool:
    return header is not None and hmac.compare_digest(signature(body, secret), header)


def app(secret: str, api_url: str | None = None, token: str = "") -> web.Application:
    """The bare handler; with ``api_url``, each command is answered by a reply comment."""
    application = web.Application()
    pending: set[asyncio.Task[None]] = set()

    async def reply(payload: dict[str, Any]) -> None:
        repo = payload["repository"]["full_name"]
        number = payload["issue"]["number"]
        body = f"> {payload['comment']['body']}\n\n**pong**"
        url = f"{api_url}/repos/{repo}/issues/{number}/comments"
        headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
        async with application[SESSION].post(url, json={"body": body}, headers=headers) as answer:
            await answer.read()

    async def bare(request: web.Request) -> web.Response:
        body = await request.read()
        if not verified(body, request.headers.get("X-Hub-Signature-256"), secret):
            return web.json_response({"error": "invalid signature"}, status=401)
        payload = json.loads(body)
        if not isinstance(payload, dict):
            return web.json_response({"error": "malformed payload"}, status=400)
        if api_url is not None:
            task = asyncio.create_task(reply(payload))
            pending.add(task)
            task.add_done_callback(pending.discard)
        return web.json_response({"accepted": 1, "duplicates": 0}, status=202)

    async def session(application: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=REPLY_CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as client:
            application[SESSION] = client
            yield
            if pending:
                await asyncio.wait(set(pending), timeout=5)

    if api_url is not None:
        application.cleanup_ctx.append(session)
    application.router.add_post(ROUTE, bare)
    return application


async def _serve(application: web.Application, port: int) -> None:
    runner = web.AppRunner(application, access_log=None, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_limit", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", help="post each reply to this GitHub API")
    args = parser.parse_args(argv)
    secret, token = os.environ.get(SECRET_ENV), os.environ.get(TOKEN_ENV, "")
    if not secret:
        parser.error(f"set {SECRET_ENV}")
    asyncio.run(_serve(app(secret, args.api_url, token), args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
