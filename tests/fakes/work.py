"""A ``work`` command for crash and concurrency tests.

It can block forever after announcing itself (to be killed mid-run), or append
its delivery key to a file (so separate processes can show what they ran).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.arguments import NoArgs
from bot.context import Context
from bot.messages import Reply, Status
from bot.router import Command


def work_command(*, hang: bool = False, record: Path | None = None) -> Command[NoArgs]:
    async def work(ctx: Context, _args: NoArgs) -> Reply:
        key = ctx.invocation.delivery_key
        if hang:
            print(f"started {key}", flush=True)
            await asyncio.Event().wait()
        if record is not None:
            with record.open("a", encoding="utf-8") as handle:
                handle.write(key + "\n")
        return Reply(title=f"worked on {key}", status=Status.OK)

    return Command(name="work", summary="Test work.", handler=work, args=NoArgs)
