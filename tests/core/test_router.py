"""Router transcripts: text in, whole replies and audit entries out."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import builtin_commands
from bot.arguments import NoArgs
from bot.config import PermissionGrant, PermissionsSettings
from bot.context import Context, Services
from bot.errors import UpstreamError
from bot.forge import NotFound
from bot.messages import (
    Actor,
    Field,
    Forge,
    Invocation,
    Level,
    Outgoing,
    Platform,
    Reply,
    ReplyTarget,
    Status,
    Table,
    Target,
    TargetKind,
)
from bot.permissions import ConfigAuthorizer
from bot.router import Command, Router
from bot.store.queues import Audit
from commands import ping
from tests.fakes.clock import FakeClock
from tests.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class RescanArgs:
    target: Target | None = field(default=None, metadata={"help": "the PR"})
    full: bool = False
    limit: int = field(default=3, metadata={"option": True, "metavar": "N"})


async def fake_rescan(ctx: Context, args: RescanArgs) -> Reply:
    return Reply(
        title="rescan",
        fields=(
            Field("target", str(ctx.target)),
            Field("full", str(args.full)),
            Field("limit", str(args.limit)),
        ),
    )


async def crash(_ctx: Context, _args: NoArgs) -> Reply:
    raise RuntimeError("boom: internal detail")


async def slow(_ctx: Context, _args: NoArgs) -> Reply:
    await asyncio.sleep(10)
    raise AssertionError("not reached")


async def upstream(_ctx: Context, _args: NoArgs) -> Reply:
    raise UpstreamError("GitHub", "the API is down", status=502)


async def missing(_ctx: Context, _args: NoArgs) -> Reply:
    raise NotFound("GitHub", "pull request", "acme/web#404")


NOTICE_TARGET = ReplyTarget(platform=Platform.GITHUB, channel="acme/web", thread="12")


async def notify(ctx: Context, _args: NoArgs) -> Reply:
    ctx.also_send(NOTICE_TARGET, Reply(title="summary"), "summary")
    return Reply(title="noted")


async def notify_then_crash(ctx: Context, _args: NoArgs) -> Reply:
    ctx.also_send(NOTICE_TARGET, Reply(title="summary"), "summary")
    raise RuntimeError("after queueing a follow-up")


def extra_commands() -> list[Command[Any]]:
    return [
        Command(
            name="rescan",
            summary="Re-run the scans of a pull request.",
            handler=fake_rescan,
            args=RescanArgs,
            level=Level.WRITE,
            examples=("rescan acme/web#12",),
        ),
        Command(name="crash", summary="Always crashes.", handler=crash, args=NoArgs),
        Command(name="slow", summary="Never finishes.", handler=slow, args=NoArgs),
        Command(name="upstream", summary="Upstream fails.", handler=upstream, args=NoArgs),
        Command(name="missing", summary="Finds nothing.", handler=missing, args=NoArgs),
        Command(name="notify", summary="Also posts elsewhere.", handler=notify, args=NoArgs),
        Command(
            name="notify-crash",
            summary="Queues a follow-up, then crashes.",
            handler=notify_then_crash,
            args=NoArgs,
        ),
    ]


def router_commands() -> list[Command[Any]]:
    """The built-in commands, with this module's stand-ins in place of those of the same name."""
    extra = extra_commands()
    replaced = {command.name for command in extra}
    return [*(c for c in builtin_commands() if c.name not in replaced), *extra]


def make_router(grants: tuple[PermissionGrant, ...] = (), timeout: float = 5.0) -> Router:
    clock = FakeClock()
    return Router(
        router_commands(),
        authorizer=ConfigAuthorizer(PermissionsSettings(grants=grants)),
        services=Services(clock=clock, started_at=clock.now(), version="1.2.3"),
        handler_timeout=timeout,
        log=logging.getLogger("tests.router"),
    )


def invocation(text: str, user: str = "U1", target: Target | None = None) -> Invocation:
    return Invocation(
        id=uuid.uuid4().hex,
        platform=Platform.SLACK,
        actor=Actor(platform=Platform.SLACK, id=user, name="someone"),
        text=text,
        reply_to=ReplyTarget(platform=Platform.SLACK, channel="C1"),
        delivery_key=uuid.uuid4().hex,
        received_at=FakeClock().now(),
        target=target,
    )


WRITER = PermissionGrant(level=Level.WRITE, platform="slack", users=("U9",))


async def test_ping_answers_pong_with_version_and_uptime() -> None:
    outcome = await make_router().dispatch(invocation("ping"))
    assert outcome.reply == Reply(
        title="pong",
        status=Status.OK,
        fields=(Field("version", "1.2.3"), Field("uptime", "0s")),
    )
    assert (outcome.command, outcome.result) == ("ping", "ok")


async def test_unknown_command_suggests_the_near_miss_and_help() -> None:
    inv = invocation("pnig now")
    outcome = await make_router().dispatch(inv)
    assert outcome.reply == Reply(
        title="Unknown command: pnig",
        status=Status.ERROR,
        paragraphs=("Did you mean `ping`?", "Say `help` to see the commands you can run here."),
    )
    assert outcome.audit == Audit(
        platform="slack",
        actor="slack:U1",
        decision="unknown",
        invocation_id=inv.id,
        detail="pnig",
    )


async def test_unknown_command_far_from_any_name_points_to_help_only() -> None:
    outcome = await make_router().dispatch(invocation("frobnicate"))
    assert outcome.reply == Reply(
        title="Unknown command: frobnicate",
        status=Status.ERROR,
        paragraphs=("Say `help` to see the commands you can run here.",),
    )


async def test_unclosed_quote_is_a_usage_error_not_a_crash() -> None:
    outcome = await make_router().dispatch(invocation('ping "unclosed'))
    assert outcome.result == "usage"
    assert outcome.reply == Reply(
        title="Could not read that command",
        status=Status.ERROR,
        paragraphs=(
            'Unclosed " starting at character 6.',
            "Put quotes around an argument that contains spaces, and close every quote.",
        ),
    )


async def test_extra_argument_gets_usage_and_examples() -> None:
    outcome = await make_router().dispatch(invocation("ping loudly"))
    assert outcome.reply == Reply(
        title="Wrong arguments for `ping`",
        status=Status.ERROR,
        paragraphs=("Unexpected argument(s): loudly.",),
        fields=(Field("Usage", "ping"), Field("Examples", "ping")),
    )


async def test_bad_target_is_a_usage_error_naming_the_argument() -> None:
    outcome = await make_router().dispatch(invocation("rescan not-a-target", user="U9"))
    assert outcome.result == "usage"
    assert outcome.reply.title == "Wrong arguments for `rescan`"
    assert outcome.reply.fields == (
        Field("Usage", "rescan [TARGET] [--full] [--limit N]"),
        Field("Examples", "rescan acme/web#12"),
    )
    assert outcome.reply.paragraphs[0].startswith("TARGET: ")


async def test_write_command_denied_to_reader_says_which_level() -> None:
    inv = invocation("rescan acme/web#12")
    outcome = await make_router(grants=(WRITER,)).dispatch(inv)
    assert outcome.reply == Reply(
        title="Permission denied",
        status=Status.ERROR,
        paragraphs=("`rescan` needs write access; you have read.",),
    )
    assert outcome.audit == Audit(
        platform="slack",
        actor="slack:U1",
        decision="denied",
        invocation_id=inv.id,
        command="rescan",
        level="read",
    )


async def test_writer_runs_with_typed_arguments_and_target() -> None:
    outcome = await make_router(grants=(WRITER,)).dispatch(
        invocation("rescan acme/web#12 --full --limit=7", user="U9")
    )
    assert outcome.reply == Reply(
        title="rescan",
        fields=(Field("target", "acme/web#12"), Field("full", "True"), Field("limit", "7")),
    )


async def test_thread_target_is_used_when_no_target_is_given() -> None:
    thread = Target(repo="acme/web", kind=TargetKind.PULL_REQUEST, number=4)
    outcome = await make_router(grants=(WRITER,)).dispatch(
        invocation("rescan", user="U9", target=thread)
    )
    assert outcome.reply.fields[0] == Field("target", "acme/web#4")


RESCAN_USAGE = (
    Field("Usage", "rescan [TARGET] [--full] [--limit N]"),
    Field("Examples", "rescan acme/web#12"),
)


async def test_short_target_takes_the_threads_repository() -> None:
    thread = Target(repo="acme/web", kind=TargetKind.PULL_REQUEST, number=12, forge=Forge.GITHUB)
    outcome = await make_router(grants=(WRITER,)).dispatch(
        invocation("rescan #13", user="U9", target=thread)
    )
    assert outcome.reply == Reply(
        title="rescan",
        fields=(Field("target", "github:acme/web#13"), Field("full", "False"), Field("limit", "3")),
    )


async def test_short_target_without_a_thread_is_a_usage_error_saying_how() -> None:
    inv = invocation("rescan #13", user="U9")
    outcome = await make_router(grants=(WRITER,)).dispatch(inv)
    assert outcome.reply == Reply(
        title="Wrong arguments for `rescan`",
        status=Status.ERROR,
        paragraphs=("`#13` needs a repository: say `owner/repo#13`.",),
        fields=RESCAN_USAGE,
    )
    assert outcome.audit == Audit(
        platform="slack",
        actor="slack:U9",
        decision="usage",
        invocation_id=inv.id,
        command="rescan",
    )


async def test_merge_request_short_target_in_a_github_thread_is_a_usage_error() -> None:
    thread = Target(repo="acme/web", kind=TargetKind.PULL_REQUEST, number=12, forge=Forge.GITHUB)
    outcome = await make_router(grants=(WRITER,)).dispatch(
        invocation("rescan !13", user="U9", target=thread)
    )
    assert outcome.reply == Reply(
        title="Wrong arguments for `rescan`",
        status=Status.ERROR,
        paragraphs=(
            '`!13` cannot be read in acme/web: GitHub has no merge requests ("!"); '
            'use "#" for a pull request.',
        ),
        fields=RESCAN_USAGE,
    )


async def test_the_authorizer_sees_the_resolved_target() -> None:
    scoped = PermissionGrant(level=Level.WRITE, platform="*", users=("U1",), repos=("acme/*",))
    router = make_router(grants=(scoped,))
    inside = Target(repo="acme/web", kind=TargetKind.PULL_REQUEST, number=1)
    outside = Target(repo="other/web", kind=TargetKind.PULL_REQUEST, number=1)
    allowed = await router.dispatch(invocation("rescan #2", target=inside))
    denied = await router.dispatch(invocation("rescan #2", target=outside))
    assert (allowed.result, allowed.reply.fields[0]) == ("ok", Field("target", "acme/web#2"))
    assert (denied.result, denied.audit.level) == ("denied", "read")


async def test_repo_scoped_grant_applies_only_inside_its_repos() -> None:
    scoped = PermissionGrant(level=Level.WRITE, platform="*", users=("U1",), repos=("acme/*",))
    router = make_router(grants=(scoped,))
    inside = await router.dispatch(invocation("rescan acme/web#1"))
    outside = await router.dispatch(invocation("rescan other/web#1"))
    assert (inside.result, outside.result) == ("ok", "denied")


async def test_crash_shows_a_ref_and_logs_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="tests.router"):
        outcome = await make_router().dispatch(invocation("crash"))
    ref = outcome.audit.detail.removeprefix("ref ")
    assert outcome.reply == Reply(
        title=f"Something went wrong (ref {ref})",
        status=Status.ERROR,
        paragraphs=(
            "Something went wrong while running this command.",
            f"The details are in the bot's log under ref {ref}.",
        ),
    )
    assert "boom: internal detail" not in repr(outcome.reply)
    [record] = caplog.records
    assert record.getMessage() == f"handler crashed (ref {ref})"
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "boom: internal detail"


async def test_slow_handler_is_stopped_at_the_time_limit() -> None:
    outcome = await make_router(timeout=0.05).dispatch(invocation("slow"))
    ref = outcome.audit.detail.removeprefix("ref ")
    assert outcome.result == "timeout"
    assert outcome.reply.paragraphs == (
        "`slow` took too long and was stopped.",
        f"The details are in the bot's log under ref {ref}.",
    )


async def test_upstream_error_names_platform_and_status() -> None:
    outcome = await make_router().dispatch(invocation("upstream"))
    assert outcome.reply == Reply(
        title="GitHub did not answer as expected (HTTP 502)",
        status=Status.ERROR,
        paragraphs=("the API is down",),
    )


async def test_a_target_the_forge_does_not_have_is_answered_as_not_found() -> None:
    outcome = await make_router().dispatch(invocation("missing"))
    assert (outcome.result, outcome.reply) == (
        "error",
        Reply(
            title="Not found: acme/web#404",
            status=Status.ERROR,
            paragraphs=("GitHub has no pull request acme/web#404 that the bot can see.",),
        ),
    )


async def test_follow_ups_leave_with_a_successful_answer_only() -> None:
    router = make_router()
    done = invocation("notify")
    outcome = await router.dispatch(done)
    assert outcome.followups == (
        Outgoing(
            target=NOTICE_TARGET,
            reply=Reply(title="summary"),
            key=f"summary:{done.id}",
            invocation_id=done.id,
        ),
    )
    crashed = await router.dispatch(invocation("notify-crash"))
    assert (crashed.result, crashed.followups) == ("crash", ())


async def test_help_lists_only_what_the_user_may_run(snapshot: Snapshot) -> None:
    outcome = await make_router().dispatch(invocation("help"))
    snapshot.check_json("router_help.json", asdict(outcome.reply))


async def test_empty_command_is_answered_with_help() -> None:
    outcome = await make_router().dispatch(invocation(""))
    assert outcome.command == "help"
    assert outcome.reply.title == "Commands you can run here"


async def test_help_for_one_command_shows_usage_examples_and_level() -> None:
    outcome = await make_router().dispatch(invocation("help rescan"))
    assert outcome.reply == Reply(
        title="help: rescan",
        paragraphs=("Re-run the scans of a pull request.", "Needs write access."),
        fields=(
            Field("Usage", "rescan [TARGET] [--full] [--limit N]"),
            Field("Examples", "rescan acme/web#12"),
        ),
    )


def test_duplicate_command_names_are_refused() -> None:
    clock = FakeClock()
    with pytest.raises(ValueError, match="command name 'ping' is declared twice"):
        Router(
            [*builtin_commands(), *ping.commands()],
            authorizer=ConfigAuthorizer(PermissionsSettings()),
            services=Services(clock=clock, started_at=clock.now(), version="1"),
            handler_timeout=1.0,
            log=logging.getLogger("tests.router"),
        )


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
async def test_any_text_gets_exactly_one_reply_and_never_raises(text: str) -> None:
    outcome = await make_router().dispatch(invocation(text))
    assert outcome.reply.title
    assert outcome.result in {"ok", "usage", "unknown", "denied", "error", "crash", "timeout"}
    assert outcome.result != "crash"


SECRETS_FOR_READERS = (
    (
        "secrets audit [REPO]",
        "Class every CI secret of a repository: expired, expiring, unused, ...",
    ),
    (
        "secrets expiring [--within DAYS]",
        "List tracked secrets that expire soon, across this channel's repositories.",
    ),
    (
        "secrets usage [TARGET]",
        "Show which secrets a pull request's CI uses, per workflow and job.",
    ),
)


async def test_a_family_name_alone_lists_its_sub_commands_instead_of_guessing() -> None:
    outcome = await make_router().dispatch(invocation("secrets"))
    assert outcome.reply == Reply(
        title="`secrets` needs a sub-command",
        status=Status.ERROR,
        paragraphs=("Say `help secrets` for what you can run here.",),
        table=Table(
            headers=("command", "what it does"),
            rows=(
                (
                    "secrets ack NAME [--repo OWNER/REPO]",
                    "Stop the alerts about a secret's current expiry date.",
                ),
                SECRETS_FOR_READERS[0],
                SECRETS_FOR_READERS[1],
                (
                    "secrets snooze NAME DURATION [--repo OWNER/REPO]",
                    "Hold a secret's expiry alerts back for a while.",
                ),
                (
                    "secrets track NAME --expires DATE [OPTIONS]",
                    "Record when a CI secret expires, who rotates it and where.",
                ),
                (
                    "secrets untrack NAME [--repo OWNER/REPO]",
                    "Forget a CI secret's expiry date; no more alerts about it.",
                ),
                SECRETS_FOR_READERS[2],
            ),
        ),
    )
    assert (outcome.command, outcome.result) == (None, "unknown")


async def test_help_for_a_family_lists_what_the_user_may_run_and_explains_a_member() -> None:
    router = make_router()
    family = await router.dispatch(invocation("help secrets"))
    member = await router.dispatch(invocation("help secrets audit"))
    unknown = await router.dispatch(invocation("help secrets nope"))

    assert family.reply == Reply(
        title="help: secrets",
        paragraphs=("Say `help secrets COMMAND` for details, for example `help secrets audit`.",),
        table=Table(headers=("command", "what it does"), rows=SECRETS_FOR_READERS),
    )
    assert member.reply.title == "help: secrets audit"
    assert member.reply.fields[0] == Field("Usage", "secrets audit [REPO]")
    assert unknown.reply == Reply(
        title="No command named secrets nope",
        status=Status.ERROR,
        paragraphs=("Say `help` to see the commands you can run here.",),
    )


async def test_replies_name_a_target_without_the_forge_prefix_it_was_typed_with() -> None:
    outcome = await make_router().dispatch(invocation("status github:acme/web#3"))
    assert outcome.reply == Reply(
        title="`status` failed",
        status=Status.ERROR,
        paragraphs=("GitHub is not set up on this bot, so it cannot act on acme/web#3.",),
    )
