"""``bot.secrets.audit``: one class per secret by urgency, whole rows compared."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from bot.forge import CheckState, CiRun, CiSecret, SecretScope
from bot.messages import Forge
from bot.secrets.audit import AuditFacts, AuditRow, SecretClass, audit
from bot.secrets.references import Reference, References
from bot.secrets.store import Tracked, Use

REPO = "acme/web"
TODAY = date(2026, 11, 21)
CI = ".github/workflows/ci.yml"
SET = datetime(2026, 10, 1, tzinfo=UTC)
OLD = datetime(2026, 8, 23, tzinfo=UTC)  # exactly 90 days before today


def secret(name: str, updated: datetime | None = SET, **extra: object) -> CiSecret:
    values: dict[str, object] = {
        "scope": SecretScope.REPOSITORY,
        "scope_name": REPO,
        "created_at": updated,
        "updated_at": updated,
        **extra,
    }
    return CiSecret(name=name, **values)  # type: ignore[arg-type]


def tracked(name: str, expires_on: date | None) -> Tracked:
    return Tracked(
        id=1,
        forge=Forge.GITHUB,
        repo=REPO,
        name=name,
        expires_on=expires_on,
        owner=None,
        rotate_url=None,
        source="command",
        set_by="operator",
        updated_at=SET,
    )


def run(started: datetime) -> CiRun:
    return CiRun(
        id="7",
        name="CI",
        state=CheckState.COMPLETED,
        conclusion="success",
        url="https://github.com/acme/web/actions/runs/7",
        head_sha="a" * 40,
        actor="octocat",
        event="push",
        started_at=started,
        finished_at=started,
    )


def row(
    name: str,
    secret_class: SecretClass,
    days_left: int | None = None,
    expires_on: date | None = None,
    rotated: datetime | None = SET,
    refs: tuple[Reference, ...] = (),
    *,
    scope: SecretScope | None = SecretScope.REPOSITORY,
    scope_name: str = REPO,
) -> AuditRow:
    """A row as ``audit`` builds it, never used (no reports or runs in these facts)."""
    return AuditRow(
        name=name,
        secret_class=secret_class,
        scope=scope,
        scope_name=scope_name if scope is not None else "",
        days_left=days_left,
        expires_on=expires_on,
        last_rotated=rotated,
        last_used=None,
        references=refs,
    )


def classify(facts: AuditFacts) -> list[AuditRow]:
    return audit(facts, TODAY, stale_after_days=90, expiring_within_days=30)


def test_each_class_and_the_urgency_order() -> None:
    ref = {name: Reference(name, CI, "build") for name in ("A", "B", "C", "D", "F", "G", "H")}
    facts = AuditFacts(
        repo=REPO,
        secrets=(
            secret("A"),
            secret("B"),
            secret("D", OLD),
            secret("E"),
            secret("F"),
            secret("G"),
            secret("H", None),
        ),
        references=References(tuple(sorted(ref.values()))),
        tracked=(
            tracked("A", date(2026, 11, 20)),
            tracked("B", date(2026, 12, 21)),
            tracked("C", date(2027, 1, 1)),
            tracked("D", date(2027, 6, 1)),
            tracked("E", date(2027, 6, 1)),
            tracked("F", None),
            tracked("H", date(2027, 6, 1)),
        ),
    )
    assert classify(facts) == [
        row("A", SecretClass.EXPIRED, -1, date(2026, 11, 20), refs=(ref["A"],)),
        row("B", SecretClass.EXPIRING, 30, date(2026, 12, 21), refs=(ref["B"],)),
        row("C", SecretClass.UNDEFINED, 41, date(2027, 1, 1), None, (ref["C"],), scope=None),
        row("D", SecretClass.STALE, 192, date(2027, 6, 1), OLD, (ref["D"],)),
        row("E", SecretClass.UNUSED, 192, date(2027, 6, 1)),
        row("F", SecretClass.UNTRACKED, refs=(ref["F"],)),
        row("G", SecretClass.UNTRACKED, refs=(ref["G"],)),
        row("H", SecretClass.OK, 192, date(2027, 6, 1), None, (ref["H"],)),
    ]


def test_expiring_sorts_soonest_first_and_today_is_expiring_not_expired() -> None:
    facts = AuditFacts(
        repo=REPO,
        secrets=(secret("LATER"), secret("TODAY"), secret("SOON")),
        tracked=(
            tracked("LATER", date(2026, 12, 1)),
            tracked("TODAY", TODAY),
            tracked("SOON", date(2026, 11, 22)),
        ),
    )
    rows = classify(facts)
    assert [(r.name, r.secret_class, r.days_left) for r in rows] == [
        ("TODAY", SecretClass.EXPIRING, 0),
        ("SOON", SecretClass.EXPIRING, 1),
        ("LATER", SecretClass.EXPIRING, 10),
    ]


def test_last_used_is_the_later_of_a_report_and_the_latest_referencing_run() -> None:
    reported = datetime(2026, 11, 20, 8, tzinfo=UTC)
    ran = datetime(2026, 11, 19, 8, tzinfo=UTC)
    reference = Reference("NPM_TOKEN", CI, "build")
    facts = AuditFacts(
        repo=REPO,
        secrets=(secret("NPM_TOKEN"), secret("OTHER")),
        references=References((reference,)),
        uses={"NPM_TOKEN": Use(Forge.GITHUB, REPO, "NPM_TOKEN", "ci", None, reported, "api")},
        latest_runs={CI: run(ran), ".github/workflows/other.yml": run(reported)},
        tracked=(tracked("npm_token", date(2027, 6, 1)),),
    )
    assert classify(facts) == [
        AuditRow(
            "OTHER", SecretClass.UNUSED, SecretScope.REPOSITORY, REPO, None, None, SET, None, ()
        ),
        AuditRow(
            "NPM_TOKEN",
            SecretClass.OK,
            SecretScope.REPOSITORY,
            REPO,
            192,
            date(2027, 6, 1),
            SET,
            reported,
            (reference,),
        ),
    ]
    without_report = classify(dataclasses.replace(facts, uses={}))
    assert [(row.name, row.last_used) for row in without_report] == [
        ("OTHER", None),
        ("NPM_TOKEN", ran),
    ]


def test_the_same_name_in_two_scopes_is_two_rows_and_never_undefined() -> None:
    org = SecretScope.ORGANIZATION
    reference = Reference("TOKEN", CI, "build")
    facts = AuditFacts(
        repo=REPO,
        secrets=(
            secret("TOKEN", scope=SecretScope.ORGANIZATION, scope_name="acme"),
            secret("TOKEN"),
        ),
        references=References((reference,)),
    )
    assert classify(facts) == [
        row("TOKEN", SecretClass.UNTRACKED, refs=(reference,)),
        row("TOKEN", SecretClass.UNTRACKED, refs=(reference,), scope=org, scope_name="acme"),
    ]


def test_nothing_in_nothing_out() -> None:
    assert classify(AuditFacts(repo=REPO)) == []
