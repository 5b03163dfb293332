"""The promises ``benchmarks.github_webhook`` checks after each scenario, and its end-to-end times.

Every answered delivery got 202 with ``accepted`` = 1; for the bot, each acked delivery is
in the inbox exactly once, and once drained the fake GitHub saw exactly one quoted
``pong`` reply and one 👀 per delivery, no failed write and no contract violation. A broken
promise raises ``BenchmarkFailure``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from benchmarks import github_fake_host as fake_host
from benchmarks.github_load import COMMAND, UNANSWERED, LoadResult, Target
from benchmarks.webhook_model import (
    BOT_LOGIN,
    REPLY_TITLE,
    REPO,
    WRITE_OPERATIONS,
    BenchmarkFailure,
)
from bot.pipeline.assembly import Pipeline
from bot.store.models import InboxItem


def check_acks(result: LoadResult, count: int, server: str) -> int:
    """Every answered delivery got 202 with accepted=1; the number answered so.

    A request the client gave up on at its time limit is not a violation but a partial
    round (see ``_measured``).
    """
    bad = [
        o for o in result.outcomes if (o.status != 202 or o.accepted != 1) and o.error != UNANSWERED
    ]
    if bad:
        first = bad[0]
        reason = first.error or f"status {first.status}, accepted {first.accepted}"
        raise BenchmarkFailure(f"{server}: {len(bad)}/{count} deliveries not acked ({reason})")
    return len(result.outcomes)


async def check_bot(
    pipeline: Pipeline,
    report: fake_host.FakeReport,
    targets: Sequence[Target],
    result: LoadResult,
    drained: bool,
) -> None:
    """Each acked delivery persisted once; once drained, one reply and one 👀 each at the fake.

    When the system did not drain in time, only "never more than one" is checked.
    """
    if report.violations:
        raise BenchmarkFailure(
            f"the fake GitHub saw {len(report.violations)} violation(s): {report.violations[0]}"
        )
    writes = [c for c in report.calls if c.method != "GET"]
    unexpected = sorted({str(c.operation_id) for c in writes} - set(WRITE_OPERATIONS))
    if unexpected:
        raise BenchmarkFailure(f"unexpected writes at the fake: {unexpected}")
    failed = [c for c in writes if c.status != 201]
    if failed:
        raise BenchmarkFailure(
            f"{len(failed)} write(s) at the fake failed: "
            f"{failed[0].method} {failed[0].path} -> {failed[0].status}"
        )
    key_of = {f"github:issue_comment:{target.comment_id}:0": target for target in targets}
    acked = {targets[o.index] for o in result.outcomes if o.status == 202}
    unanswered = {targets[o.index] for o in result.outcomes if o.error == UNANSWERED}
    rows = await InboxItem.filter(platform="github").values_list("delivery_key", flat=True)
    stored = Counter(str(key) for key in rows)
    repeated = [key for key, times in stored.items() if times > 1]
    strangers = [key for key in stored if key not in key_of]
    persisted = {key_of[key] for key in stored if key in key_of}
    if repeated or strangers or not acked <= persisted <= acked | unanswered:
        raise BenchmarkFailure(
            f"the inbox does not hold exactly the acked deliveries ({sum(stored.values())} "
            f"rows for {len(acked)} acked; repeated {repeated[:1]}, unknown {strangers[:1]}, "
            f"acked but missing {len(acked - persisted)})"
        )
    sent = sorted(persisted, key=lambda target: target.number)
    replies = Counter(c.number for c in report.comments if c.author == BOT_LOGIN)
    eyes = Counter(
        r.comment_id
        for r in report.reactions
        if (r.kind, r.content, r.user) == ("issue_comment", "eyes", BOT_LOGIN)
    )
    _exactly_once("reply comment", replies, {t.number for t in sent}, drained)
    _exactly_once("👀 reaction", eyes, {t.comment_id for t in sent}, drained)
    if len(report.reactions) != sum(eyes.values()):
        raise BenchmarkFailure("the fake holds reactions other than the bot's 👀")
    for comment in report.comments:
        if comment.author == BOT_LOGIN and not _is_ping_reply(comment.body):
            raise BenchmarkFailure(f"a reply is not a quoted pong: {comment.body[:200]!r}")


def _exactly_once(what: str, seen: Counter[int], wanted: set[int], drained: bool) -> None:
    repeated = sorted(key for key, times in seen.items() if times > 1)
    if repeated:
        raise BenchmarkFailure(f"{len(repeated)} deliveries got more than one {what}")
    unknown = sorted(seen.keys() - wanted)
    if unknown:
        raise BenchmarkFailure(f"{len(unknown)} {what}(s) answer no delivery sent: {unknown[0]}")
    missing = sorted(wanted - seen.keys())
    if drained and missing:
        raise BenchmarkFailure(f"{len(missing)} deliveries got no {what}: {missing[0]}")


def _is_ping_reply(body: str) -> bool:
    """The reply quotes the command (its mention defused) and says ``pong``."""
    quote, _, rest = body.partition("\n")
    return (
        quote.startswith("> ")
        and quote.endswith(COMMAND.split("@", 1)[1])
        and f"**{REPLY_TITLE}**" in rest
    )


def end_to_end(
    report: fake_host.FakeReport, targets: Sequence[Target], result: LoadResult
) -> tuple[float, ...]:
    """Milliseconds from each delivery's start (or due time) to its reply at the fake."""
    prefix = f"/repos/{REPO}/issues/"
    replied: dict[int, float] = {}
    for call in report.calls:
        if call.operation_id == "issues/create-comment" and call.path.startswith(prefix):
            number = int(call.path[len(prefix) :].split("/", 1)[0])
            replied.setdefault(number, call.at)
    latencies = [
        (replied[targets[o.index].number] - o.due) * 1000
        for o in result.outcomes
        if targets[o.index].number in replied
    ]
    return tuple(sorted(latencies))
