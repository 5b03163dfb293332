"""Processes under test: ``chatops serve`` (via ``benchmarks.driver_counts``) and the bare limit.

Intent
    Run what is measured as the operator would, a process of its own on 127.0.0.1, and
    read from the outside what it cost: CPU time (user + system, all threads) from
    ``/proc/<pid>/stat``, and for the bot the database round trips its drivers made
    (``benchmarks.driver_counts``, asked for a snapshot with SIGUSR1). ``Database`` makes
    a fresh database per run (a SQLite file in a temporary directory, or a PostgreSQL
    database created and dropped on the admin URL) and migrates it with ``chatops
    migrate``; ``write_config`` writes the TOML the bot reads.

Every process here is started by this module and ended by its own PID (SIGTERM, then
SIGKILL after ``STOP_GRACE`` s); its output goes to a log file in the run's directory.
Subprocesses import the project from ``SOURCE_ROOT`` (``PYTHONPATH``), so the benchmark can
measure a checkout other than the one it is installed in.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from benchmarks.bare_limit import SECRET_ENV, TOKEN_ENV
from benchmarks.common import postgres_admin
from benchmarks.driver_counts import ENV as COUNTS_ENV

SOURCE_ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark webhook secret"
TOKEN = "ghp_benchmark_token"
STOP_GRACE = 15.0
READY_TIMEOUT = 60.0
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A port nothing listens on right now (the OS's choice for port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without CHATOPS_* settings, the source root first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH")]))
    env[SECRET_ENV], env[TOKEN_ENV] = SECRET, TOKEN
    env.update(extra)
    return env


def chatops_argv(*args: str) -> list[str]:
    """``chatops ARGS`` through the counting launcher (a plain ``chatops`` without its variable)."""
    return [sys.executable, "-m", "benchmarks.driver_counts", *args]


def run_chatops(args: Sequence[str], config: Path, directory: Path, timeout: float = 120) -> float:
    """Run ``chatops ARGS`` to completion; the seconds it took. Raises if it fails."""
    began = time.monotonic()
    done = subprocess.run(
        chatops_argv(*args),
        env=environment({"CHATOPS_CONFIG": str(config)}),
        cwd=directory,
        capture_output=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
        raise RuntimeError(f"chatops {' '.join(args)} exited with {done.returncode}: {output}")
    return time.monotonic() - began


@dataclass
class Process:
    """One started process: its handle, its webhook URL and where its counts go."""

    popen: subprocess.Popen[bytes]
    url: str
    counts_file: Path | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    async def counts(self) -> dict[str, int]:
        """A fresh snapshot of the driver counts (``total`` and one key per keyword)."""
        if self.counts_file is None:
            return {}
        before = _read_counts(self.counts_file).get("seq", 0)
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            data = _read_counts(self.counts_file)
            if data.get("seq", 0) > before:
                return {"total": int(data["total"]), **data["by_verb"]}
            await asyncio.sleep(0.02)
        raise RuntimeError("the bot did not write its driver counts within 10 s")

    async def stop(self) -> int:
        """SIGTERM by PID, then SIGKILL if it has not exited within ``STOP_GRACE`` s."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.popen.wait, STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                await asyncio.to_thread(self.popen.wait, STOP_GRACE)
        return self.popen.returncode


def _read_counts(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data


def spawn_bot(
    config: Path, directory: Path, port: int, count: bool = True, extra_args: Sequence[str] = ()
) -> Process:
    counts = directory / f"driver-counts-{port}.json" if count else None
    extra = {"CHATOPS_CONFIG": str(config)}
    if counts is not None:
        extra[COUNTS_ENV] = str(counts)
    log = (directory / "serve.log").open("ab")
    popen = subprocess.Popen(
        chatops_argv("serve", "--port", str(port), *extra_args),
        env=environment(extra),
        cwd=directory,
        stdout=log,
        stderr=log,
    )
    log.close()
    return Process(popen, f"http://127.0.0.1:{port}/webhooks/github", counts)


def spawn_bare(directory: Path, port: int, api_url: str | None) -> Process:
    args = [sys.executable, "-m", "benchmarks.bare_limit", "--port", str(port)]
    if api_url is not None:
        args += ["--api-url", api_url]
    log = (directory / "bare.log").open("ab")
    popen = subprocess.Popen(args, env=environment({}), cwd=directory, stdout=log, stderr=log)
    log.close()
    return Process(popen, f"http://127.0.0.1:{port}/webhooks/github")


async def wait_ready(process: Process, path: str = "/readyz") -> float:
    """Poll ``path`` until it answers 200 (or, for the bare limit, anything); seconds taken."""
    base = process.url.rsplit("/webhooks/", 1)[0]
    deadline = process.started + READY_TIMEOUT
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"the process exited with status {process.popen.returncode}")
            try:
                async with session.get(base + path) as answer:
                    if answer.status == 200 or path == "/":
                        return time.monotonic() - process.started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)
    raise RuntimeError(f"not ready within {READY_TIMEOUT:g} s")


@asynccontextmanager
async def database(backend: str, directory: Path, postgres_url: str | None) -> AsyncIterator[str]:
    """The URL of a new, empty database for one run; removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite://{directory / 'bench.sqlite3'}"
        return
    if postgres_url is None:
        raise ValueError("a PostgreSQL run needs --postgres-url")
    name = f"chatops_bench_{uuid.uuid4().hex[:12]}"
    await postgres_admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(postgres_url)._replace(path="/" + name))
    finally:
        await postgres_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_config(
    directory: Path, database_url: str, sections: Mapping[str, str] | None = None
) -> Path:
    """``chatops.toml``: the database, warnings only, and each extra ``[section]`` body."""
    text = [
        "[database]",
        f"url = {json.dumps(database_url)}",
        "",
        "[logging]",
        'level = "WARNING"',
        'format = "text"',
        "",
    ]
    for name, body in (sections or {}).items():
        text += [f"[{name}]", body.strip(), ""]
    path = directory / "chatops.toml"
    path.write_text("\n".join(text))
    return path


def github_section(api_url: str) -> str:
    """GitHub in token mode against ``api_url``; secrets by reference to the environment."""
    return (
        "enabled = true\n"
        f"api_url = {json.dumps(api_url)}\n"
        f'webhook_secrets = ["env:{SECRET_ENV}"]\n'
        f'token = "env:{TOKEN_ENV}"\n'
    )
