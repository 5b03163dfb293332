"""Start-up: from spawning ``chatops serve`` to its first answered webhook, and an idle migrate.

What is measured (issue 15)
    serve, all     ``chatops serve`` with every connector enabled (GitHub in token mode,
                   GitLab, Slack in Socket Mode, Discord with its gateway and interactions
                   endpoint), each pointed at a fake on loopback
                   (``benchmarks.connector_fakes``): the seconds from spawning the
                   process until a signed GitHub ``issue_comment`` webhook, sent every
                   5 ms from the spawn on, is first answered 202 (stored).
    serve, GitHub  the same with GitHub alone enabled.
    migrate, idle  ``chatops migrate`` on a database that is up to date, spawn to exit.
    migrate, new   ``chatops migrate`` on a new, empty database (for reference).
    bare limit     ``benchmarks.bare_limit`` (aiohttp, HMAC, 202), spawn to first 202:
                   what any Python web process pays to start on this machine.

Each round runs them all, per back end (a fresh SQLite file, a fresh PostgreSQL database);
figures are medians over ``--rounds`` (3) with the ratio to the bare limit of the same
round. ``chatops`` runs as ``python -m bot`` from the measured checkout, with logging at
WARNING. Bounds: each start has ``READY_TIMEOUT`` (60 s); every process started is stopped
by its PID.

Usage: python -m benchmarks.startup [--rounds 3] [--backend both] [--postgres-url URL]
[--label TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import aiohttp

from benchmarks import bot_process, connector_fakes
from benchmarks.bare_limit import signature
from benchmarks.bot_process import SECRET, Process, environment
from benchmarks.common import BACKENDS, add_postgres_url_option, backends, table_line
from benchmarks.connector_fakes import Endpoints
from benchmarks.reply_figures import median, number
from benchmarks.reply_load import EVENT
from benchmarks.reply_path import commit
from tests.github_stack import comment_payload

MAX_ROUNDS = 10
READY_TIMEOUT = 60.0
PROBE_INTERVAL = 0.005
DISCORD_PUBLIC_KEY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
FIGURES = ("migrate, idle", "migrate, new", "serve, all", "serve, GitHub", "bare limit")
HEADER = (
    "run",
    "backend",
    "rounds",
    "serve, all connectors s",
    "serve, GitHub only s",
    "migrate, nothing to do s",
    "migrate, new database s",
    "bare limit s",
    "serve all x bare",
)


def sections(endpoints: Endpoints, every: bool) -> dict[str, str]:
    """The ``[github]`` section, and with ``every`` those of GitLab, Slack and Discord."""
    out = {"github": bot_process.github_section(endpoints.github_api)}
    if not every:
        return out
    out["gitlab"] = (
        f"enabled = true\nbase_url = {json.dumps(endpoints.gitlab_url)}\n"
        'token = "env:BENCH_GITLAB_TOKEN"\nwebhook_tokens = ["env:BENCH_GITLAB_HOOK"]\n'
    )
    out["slack"] = (
        f'enabled = true\nmode = "socket"\napi_url = {json.dumps(endpoints.slack_api)}\n'
        'bot_token = "env:BENCH_SLACK_BOT_TOKEN"\napp_token = "env:BENCH_SLACK_APP_TOKEN"\n'
    )
    out["discord"] = (
        f"enabled = true\napi_url = {json.dumps(endpoints.discord_api)}\n"
        f"application_id = {json.dumps(endpoints.discord_application_id)}\n"
        f'public_key = "{DISCORD_PUBLIC_KEY}"\nbot_token = "env:BENCH_DISCORD_TOKEN"\n'
    )
    return out


def secrets(endpoints: Endpoints) -> dict[str, str]:
    return {
        "BENCH_GITLAB_TOKEN": endpoints.gitlab_token,
        "BENCH_GITLAB_HOOK": "benchmark gitlab hook token",
        "BENCH_SLACK_BOT_TOKEN": endpoints.slack_bot_token,
        "BENCH_SLACK_APP_TOKEN": endpoints.slack_app_token,
        "BENCH_DISCORD_TOKEN": endpoints.discord_token,
    }


def _chatops(args: Sequence[str], config: Path, directory: Path, extra: dict[str, str]) -> float:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=environment({"CHATOPS_CONFIG": str(config), **extra}),
        cwd=directory,
        capture_output=True,
        timeout=READY_TIMEOUT,
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
        raise RuntimeError(f"chatops {' '.join(args)} exited with {done.returncode}: {output}")
    return time.monotonic() - began


async def first_answer(process: Process) -> float:
    """Seconds from the spawn until a signed ping webhook is answered 202."""
    body = json.dumps(comment_payload("@chatops ping")).encode()
    headers = {
        "X-GitHub-Event": EVENT,
        "X-Hub-Signature-256": signature(body, SECRET),
        "Content-Type": "application/json",
    }
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - process.started < READY_TIMEOUT:
            if process.popen.poll() is not None:
                raise RuntimeError(f"the process exited with {process.popen.returncode}")
            headers["X-GitHub-Delivery"] = f"startup-{time.monotonic_ns()}"
            try:
                async with session.post(process.url, data=body, headers=headers) as answer:
                    await answer.read()
                    if answer.status == 202:
                        return time.monotonic() - process.started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(PROBE_INTERVAL)
    raise RuntimeError(f"no 202 within {READY_TIMEOUT:g} s")


def _spawn_serve(config: Path, directory: Path, extra: dict[str, str]) -> Process:
    """``chatops serve`` as ``python -m bot``, without the driver counts."""
    port = bot_process.free_port()
    log = (directory / "serve.log").open("ab")
    popen = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        env=environment({"CHATOPS_CONFIG": str(config), **extra}),
        cwd=directory,
        stdout=log,
        stderr=log,
    )
    log.close()
    return Process(popen, f"http://127.0.0.1:{port}/webhooks/github")


async def _serve(config: Path, directory: Path, extra: dict[str, str]) -> float:
    process = _spawn_serve(config, directory, extra)
    try:
        return await first_answer(process)
    except RuntimeError as exc:
        tail = (directory / "serve.log").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{exc}; serve's output ends with:\n{tail}") from exc
    finally:
        await process.stop()


async def one_round(backend: str, endpoints: Endpoints, pg: str | None) -> dict[str, float]:
    figures: dict[str, float] = {}
    extra = secrets(endpoints)
    with tempfile.TemporaryDirectory(prefix="chatops-bench-start-") as tmp:
        directory = Path(tmp)
        bare = bot_process.spawn_bare(directory, bot_process.free_port(), None)
        try:
            figures["bare limit"] = await first_answer(bare)
        finally:
            await bare.stop()
        async with bot_process.database(backend, directory, pg) as url:
            every = bot_process.write_config(directory, url, sections(endpoints, every=True))
            run = asyncio.to_thread
            figures["migrate, new"] = await run(_chatops, ["migrate"], every, directory, extra)
            figures["migrate, idle"] = await run(_chatops, ["migrate"], every, directory, extra)
            figures["serve, all"] = await _serve(every, directory, extra)
            github = bot_process.write_config(directory, url, sections(endpoints, every=False))
            figures["serve, GitHub"] = await _serve(github, directory, extra)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.startup", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--label", help="first column of each row (default: the commit)")
    add_postgres_url_option(parser, "round")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds 1..{MAX_ROUNDS}")
    wanted = backends(parser, args.backend, args.postgres_url)
    label = args.label or commit()
    results: dict[str, list[dict[str, float]]] = {backend: [] for backend in wanted}
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        endpoints = pool.submit(connector_fakes.start).result(timeout=120)
        try:
            for number_ in range(1, args.rounds + 1):
                for backend in wanted:
                    figures = asyncio.run(one_round(backend, endpoints, args.postgres_url))
                    results[backend].append(figures)
                    shown = ", ".join(f"{k} {figures[k]:.2f} s" for k in FIGURES)
                    print(f"[round {number_} {backend}] {shown}", file=sys.stderr, flush=True)
        finally:
            pool.submit(connector_fakes.stop).result(timeout=60)
    lines = [table_line(HEADER), table_line(("---",) * len(HEADER))]
    for backend, rounds in results.items():
        of = {key: median([r[key] for r in rounds]) for key in FIGURES}
        ratio = median([r["serve, all"] / r["bare limit"] for r in rounds])
        cells = [of["serve, all"], of["serve, GitHub"], of["migrate, idle"], of["migrate, new"]]
        lines.append(
            table_line(
                (
                    label,
                    backend,
                    str(len(rounds)),
                    *(number(value, 2) for value in cells),
                    number(of["bare limit"], 2),
                    number(ratio, 1),
                )
            )
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
