"""Tests for bot.config: loading, overrides, validation errors, secrets, rendering."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.config import (
    BotSettings,
    Config,
    ConfigError,
    DatabaseSettings,
    LoggingSettings,
    OutboxSettings,
    PermissionGrant,
    PermissionsSettings,
    SchedulerSettings,
    Secret,
    ServerSettings,
    ShellSettings,
    WorkerSettings,
    load_config,
    parse_config,
    render_config,
)
from bot.config.loader import _Loader
from bot.config.overrides import _override_value
from bot.messages import Level

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"
DB_URL = "postgres://chatops:hunter2-s3cret@db.internal:5432/chatops"


def parse(data: dict[str, Any], environ: dict[str, str] | None = None, **kw: Any) -> Config:
    return parse_config(data, environ or {}, base_dir=kw.get("base_dir", Path("/nonexistent")))


def error_of(data: dict[str, Any], environ: dict[str, str] | None = None, **kw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse(data, environ, **kw)
    return str(info.value)


# --------------------------------------------------------------------------- defaults


def test_defaults_without_a_file() -> None:
    config = load_config(None, {})

    assert config == Config()
    assert config.source is None
    assert config.bot == BotSettings(name="chatops", public_url="http://127.0.0.1:8080")
    assert config.server == ServerSettings(host="127.0.0.1", port=8080, shutdown_timeout=10.0)
    assert config.database == DatabaseSettings(url="sqlite://chatops.sqlite3", secret=None)
    assert config.database.resolved_url() == "sqlite://chatops.sqlite3"
    assert config.workers == WorkerSettings(
        concurrency=4, lease_seconds=60.0, poll_interval=0.5, max_attempts=5, handler_timeout=30.0
    )
    assert config.outbox == OutboxSettings(
        concurrency=4, lease_seconds=60.0, max_attempts=8, backoff_base=1.0, backoff_cap=300.0
    )
    assert config.scheduler == SchedulerSettings(
        timezone="UTC", housekeeping_cron="17 3 * * *", retention_days=14
    )
    assert config.logging == LoggingSettings(level="INFO", format="auto")
    assert config.permissions == PermissionsSettings(default_level=Level.READ, grants=())
    assert config.shell == ShellSettings(user="local")
    assert config.config_secrets() == ()


def test_empty_tables_mean_defaults() -> None:
    assert parse({"server": {}, "permissions": {"grants": []}}) == Config()


def test_settings_are_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.server.port = 1  # type: ignore[misc]


def test_parse_config_does_not_modify_its_input() -> None:
    data: dict[str, Any] = {"server": {"port": 1}}
    before = copy.deepcopy(data)

    config = parse(data, {"CHATOPS__SERVER__PORT": "2", "CHATOPS__LOGGING__LEVEL": "debug"})

    assert config.server.port == 2
    assert data == before


# --------------------------------------------------------------------------- the example file


def test_example_file_loads() -> None:
    config = load_config(EXAMPLE, {})

    shell_admin = PermissionGrant(level=Level.ADMIN, platform="shell", users=("*",))
    assert config == Config(
        permissions=PermissionsSettings(grants=(shell_admin,)), source=str(EXAMPLE.absolute())
    )
    assert config.database.resolved_url() == "sqlite://chatops.sqlite3"
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)


def test_example_file_states_every_default() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    rendered = tomllib.loads(render_config(Config()))
    del rendered["permissions"]["grants"]
    del data["permissions"]["grants"]

    assert data == rendered


def test_example_commented_grants_are_valid() -> None:
    keys = r"\[\[permissions\.grants\]\]|level =|platform =|users =|groups =|repos ="
    text = re.sub(rf"^# ({keys})", r"\1", EXAMPLE.read_text(encoding="utf-8"), flags=re.M)

    grants = parse(tomllib.loads(text)).permissions.grants

    assert grants == (
        PermissionGrant(level=Level.ADMIN, platform="shell", users=("*",)),
        PermissionGrant(
            level=Level.WRITE, platform="slack", groups=("S0123ABCD",), repos=("acme/*",)
        ),
        PermissionGrant(level=Level.ADMIN, platform="slack", users=("U012AB3CD", "U045EF6GH")),
        PermissionGrant(
            level=Level.WRITE,
            platform="discord",
            groups=("112233445566778899",),
            repos=("acme/web",),
        ),
    )


# --------------------------------------------------------------------------- loading files


def test_load_config_records_the_source_and_reads_values(tmp_path: Path) -> None:
    path = tmp_path / "chatops.toml"
    path.write_text('[server]\nport = 9000\n[logging]\nlevel = "debug"\n', encoding="utf-8")

    config = load_config(path, {})

    assert config == Config(
        server=ServerSettings(port=9000),
        logging=LoggingSettings(level="DEBUG"),
        source=str(path),
    )


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path, {})

    assert (info.value.path, info.value.reason) == ("", f"config file {path} does not exist")
    assert str(info.value) == f"config file {path} does not exist"


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[server\nport = 1\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_config(path, {})

    assert info.value.path == ""
    assert str(info.value) == (
        f"{path} is not valid TOML: "
        "Expected ']' at the end of a table declaration (at line 1, column 8)"
    )


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[bot]\nname = "caf\xe9"\n')

    with pytest.raises(ConfigError) as info:
        load_config(path, {})

    assert str(info.value) == f"{path} is not UTF-8 text"


# --------------------------------------------------------------------------- errors name the key


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"server": {"prot": 9000}}, "server.prot: unknown key (did you mean 'port'?)"),
        (
            {"server": {"zzz": 1}},
            "server.zzz: unknown key; expected one of host, port, shutdown_timeout, "
            "header_timeout, body_timeout, max_unverified_bodies, role",
        ),
        ({"sever": {}}, "sever: unknown key (did you mean 'server'?)"),
        (
            {"database": {"secret": "env:X"}},
            "database.secret: unknown key; expected one of url, intake_deadline, ping_timeout",
        ),
        (
            {"source": "x"},
            "source: unknown key; expected one of bot, server, database, workers, outbox, "
            "scheduler, logging, permissions, shell, ci, secrets, github, gitlab, slack, discord",
        ),
        ({"server": {"port": "abc"}}, "server.port: expected an integer, got 'abc'"),
        ({"server": {"port": True}}, "server.port: expected an integer, got true"),
        ({"server": {"port": 80.5}}, "server.port: expected an integer, got 80.5"),
        ({"server": {"port": 70000}}, "server.port: must be between 0 and 65535, got 70000"),
        (
            {"server": {"shutdown_timeout": "10s"}},
            "server.shutdown_timeout: expected a number, got '10s'",
        ),
        (
            {"server": {"shutdown_timeout": 0}},
            "server.shutdown_timeout: must be greater than 0, got 0",
        ),
        (
            {"server": {"shutdown_timeout": float("inf")}},
            "server.shutdown_timeout: expected a finite number, got inf",
        ),
        ({"server": {"host": ["a"]}}, "server.host: expected a string, got an array"),
        ({"server": 5}, "server: expected a table, got 5"),
        ({"bot": {"name": ""}}, "bot.name: must not be empty"),
        (
            {"bot": {"public_url": "example.com"}},
            "bot.public_url: expected an http:// or https:// URL, got 'example.com'",
        ),
        ({"workers": {"concurrency": 0}}, "workers.concurrency: must be between 1 and 64, got 0"),
        ({"workers": {"max_attempts": 0}}, "workers.max_attempts: must be at least 1, got 0"),
        (
            {"workers": {"poll_interval": -1}},
            "workers.poll_interval: must be greater than 0, got -1",
        ),
        (
            {"workers": {"handler_timeout": 60}},
            "workers.handler_timeout: must be less than lease_seconds (60), "
            "so a handler finishes before its lease expires; got 60",
        ),
        (
            {"workers": {"lease_seconds": 20.5}},
            "workers.handler_timeout: must be less than lease_seconds (20.5), "
            "so a handler finishes before its lease expires; got 30",
        ),
        (
            {"outbox": {"backoff_base": 10, "backoff_cap": 5}},
            "outbox.backoff_cap: must be at least backoff_base (10), got 5",
        ),
        (
            {"outbox": {"acknowledge_after": -1}},
            "outbox.acknowledge_after: must be between 0 and 60, got -1",
        ),
        (
            {"scheduler": {"timezone": "Mars/Olympus"}},
            "scheduler.timezone: unknown time zone 'Mars/Olympus'; "
            "use an IANA name such as 'UTC' or 'Europe/Berlin'",
        ),
        (
            {"scheduler": {"housekeeping_cron": "17 3 * *"}},
            "scheduler.housekeeping_cron: expected 5 fields "
            "(minute hour day-of-month month day-of-week), got 4 in '17 3 * *'",
        ),
        (
            {"scheduler": {"housekeeping_cron": "17 25 * * *"}},
            "scheduler.housekeeping_cron: hour field '25': 25 is outside 0-23",
        ),
        (
            {"scheduler": {"housekeeping_cron": "17 3 * * mon?"}},
            "scheduler.housekeeping_cron: day-of-week field 'mon?' is not valid: use digits, *, "
            "ranges (a-b), steps (/n), lists (a,b) or 3-letter names",
        ),
        (
            {"scheduler": {"housekeeping_cron": "0 0 * * 8"}},
            "scheduler.housekeeping_cron: day-of-week field '8': 8 is outside 0-7",
        ),
        (
            {"scheduler": {"housekeeping_cron": "0 0 * * fri-mon"}},
            "scheduler.housekeeping_cron: day-of-week field 'fri-mon': the range fri-mon runs "
            "backwards",
        ),
        (
            {"scheduler": {"housekeeping_cron": "0 0 * xyz *"}},
            "scheduler.housekeeping_cron: month field 'xyz': unknown name 'xyz'; expected one of "
            "jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec",
        ),
        (
            {"scheduler": {"housekeeping_cron": "0 mon * * *"}},
            "scheduler.housekeeping_cron: hour field 'mon': unknown name 'mon'; "
            "expected numbers only",
        ),
        (
            {"scheduler": {"housekeeping_cron": "5-1 * * * *"}},
            "scheduler.housekeeping_cron: minute field '5-1': the range 5-1 runs backwards",
        ),
        (
            {"scheduler": {"housekeeping_cron": "*-5 * * * *"}},
            "scheduler.housekeeping_cron: minute field '*-5': * cannot start a range",
        ),
        (
            {"scheduler": {"housekeeping_cron": "*/0 * * * *"}},
            "scheduler.housekeeping_cron: minute field '*/0': a step must be at least 1",
        ),
        (
            {"scheduler": {"retention_days": 0}},
            "scheduler.retention_days: must be at least 1, got 0",
        ),
        (
            {"logging": {"level": "trace"}},
            "logging.level: must be one of DEBUG, INFO, WARNING, ERROR; got 'TRACE'",
        ),
        (
            {"logging": {"format": "xml"}},
            "logging.format: must be one of auto, json, text; got 'xml'",
        ),
        (
            {"permissions": {"default_level": "root"}},
            "permissions.default_level: unknown level 'root'; expected one of read, write, admin",
        ),
        (
            {"permissions": {"default_level": 3}},
            "permissions.default_level: expected read, write or admin, got 3",
        ),
        ({"permissions": {"grants": {}}}, "permissions.grants: expected an array, got a table"),
        (
            {"permissions": {"grants": [{"level": "admin", "users": ["*"]}, {"level": "god"}]}},
            "permissions.grants[1].level: unknown level 'god'; expected one of read, write, admin",
        ),
        (
            {"permissions": {"grants": [{"users": ["*"]}]}},
            "permissions.grants[0].level: missing required key",
        ),
        (
            {"permissions": {"grants": [{"level": "read", "users": ["a", 5]}]}},
            "permissions.grants[0].users[1]: expected a string, got 5",
        ),
        (
            {"permissions": {"grants": [{"level": "read", "users": "alice"}]}},
            "permissions.grants[0].users: expected an array, got 'alice'",
        ),
        (
            {"permissions": {"grants": [{"level": "read"}]}},
            'permissions.grants[0]: grants to no one: list users, groups or both (users = ["*"] '
            "is everyone)",
        ),
        (
            {"permissions": {"grants": [{"level": "read", "platform": "irc", "users": ["*"]}]}},
            "permissions.grants[0].platform: must be one of *, github, gitlab, slack, discord, "
            "shell; got 'irc'",
        ),
        (
            {"permissions": {"grants": [{"level": "read", "users": ["*"], "repos": []}]}},
            "permissions.grants[0].repos: must not be empty",
        ),
        (
            {"permissions": {"grants": [{"level": "read", "groups": [" "]}]}},
            "permissions.grants[0].groups: must not contain empty strings",
        ),
        (
            {"permissions": {"grants": [{"level": "read", "users": ["*"], "role": "x"}]}},
            "permissions.grants[0].role: unknown key; "
            "expected one of level, platform, users, groups, repos",
        ),
        ({"shell": {"user": ""}}, "shell.user: must not be empty"),
        (
            {"shell": {"user": "env:USER"}},
            "shell.user: is not a secret, so it cannot be given by reference (env:/file:)",
        ),
    ],
)
def test_errors_name_the_key(data: dict[str, Any], expected: str) -> None:
    assert error_of(data) == expected


@pytest.mark.parametrize(
    "cron",
    ["17 3 * * *", "*/15 * * * *", "0 0-6/2 1,15 * *", "30 8 * jan-mar mon-fri", "0 0 * * 0,6"],
)
def test_accepted_cron_lines_are_accepted_by_the_scheduler(cron: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    settings = parse({"scheduler": {"housekeeping_cron": cron}}).scheduler

    CronTrigger.from_crontab(settings.housekeeping_cron, timezone=settings.timezone)


def test_config_error_fields() -> None:
    err = ConfigError("workers.lease_seconds", "must be greater than 0, got 0")

    assert (err.path, err.reason) == ("workers.lease_seconds", "must be greater than 0, got 0")
    assert str(err) == "workers.lease_seconds: must be greater than 0, got 0"
    assert str(ConfigError("", "no such file")) == "no such file"


def test_values_are_normalized() -> None:
    config = parse({"logging": {"level": "warning"}, "workers": {"lease_seconds": 90}})

    assert config.logging.level == "WARNING"
    assert config.workers.lease_seconds == 90.0
    assert type(config.workers.lease_seconds) is float


def test_hand_built_settings_are_validated_too() -> None:
    with pytest.raises(ConfigError) as info:
        WorkerSettings(handler_timeout=60.0, lease_seconds=60.0)
    assert str(info.value) == (
        "handler_timeout: must be less than lease_seconds (60), "
        "so a handler finishes before its lease expires; got 60"
    )
    assert LoggingSettings(level="debug").level == "DEBUG"


def test_grant_with_every_key() -> None:
    grant = {
        "level": "Write",
        "platform": "github",
        "users": ["octocat"],
        "groups": ["acme/releasers"],
        "repos": ["acme/web", "acme/api"],
    }

    config = parse({"permissions": {"default_level": "write", "grants": [grant]}})

    assert config.permissions == PermissionsSettings(
        default_level=Level.WRITE,
        grants=(
            PermissionGrant(
                level=Level.WRITE,
                platform="github",
                users=("octocat",),
                groups=("acme/releasers",),
                repos=("acme/web", "acme/api"),
            ),
        ),
    )


# --------------------------------------------------------------------------- database URLs


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://chatops.sqlite3",
        "sqlite://:memory:",
        "sqlite:///var/lib/chatops/db.sqlite3",
        "postgres://chatops@db.internal:5432/chatops",
        "postgresql://chatops@localhost/chatops",
    ],
)
def test_literal_database_urls(url: str) -> None:
    database = parse({"database": {"url": url}}).database

    assert database == DatabaseSettings(url=url, secret=None)
    assert database.resolved_url() == url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            DB_URL,
            "database.url: embeds a password; "
            "put the URL in an environment variable and write env:NAME",
        ),
        (
            "postgres://chatops@db/chatops?password=hunter2",
            "database.url: embeds a password; "
            "put the URL in an environment variable and write env:NAME",
        ),
        (
            "mysql://root:hunter2@db/chatops",
            "database.url: embeds a password; "
            "put the URL in an environment variable and write env:NAME",
        ),
        (
            "mysql://root@db/chatops",
            "database.url: unsupported scheme 'mysql'; "
            "expected one of sqlite, postgres, postgresql",
        ),
        (
            "chatops.sqlite3",
            "database.url: expected a URL such as sqlite://chatops.sqlite3 "
            "or postgres://user@host:5432/db",
        ),
        (
            "sqlite://",
            "database.url: a sqlite URL needs a path: sqlite://PATH or sqlite://:memory:",
        ),
        (
            "postgres://chatops@/chatops",
            "database.url: a postgres URL needs a host: postgres://user@host:5432/db",
        ),
        (
            "postgres://chatops@db:5432/",
            "database.url: a postgres URL needs a database name: postgres://user@host:5432/db",
        ),
        ("postgres://chatops@db:port/chatops", "database.url: has an invalid host or port"),
    ],
)
def test_bad_database_urls(url: str, expected: str) -> None:
    message = error_of({"database": {"url": url}})

    assert message == expected
    assert "hunter2" not in message


# --------------------------------------------------------------------------- secrets


def test_env_secret_reference() -> None:
    config = parse({"database": {"url": "env:CHATOPS_DB_URL"}}, {"CHATOPS_DB_URL": DB_URL})

    assert config.database.url == ""
    assert config.database.secret == Secret("env:CHATOPS_DB_URL", DB_URL)
    assert config.database.resolved_url() == DB_URL
    assert config.config_secrets() == (Secret("env:CHATOPS_DB_URL", DB_URL),)


def test_file_secret_reference_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "db_url").write_text(DB_URL + "\n", encoding="utf-8")
    path = tmp_path / "chatops.toml"
    path.write_text('[database]\nurl = "file:secrets/db_url"\n', encoding="utf-8")

    database = load_config(path, {}).database

    assert database.secret is not None
    assert database.secret.reference == f"file:{tmp_path / 'secrets' / 'db_url'}"
    assert database.resolved_url() == DB_URL


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"value\n", "value"),
        (b"value\r\n", "value"),
        (b"value\n\n", "value\n"),
        (b"value", "value"),
        (b"value \n", "value "),
    ],
)
def test_file_secret_loses_one_trailing_newline(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    (tmp_path / "db_url").write_bytes(content.replace(b"value", DB_URL.encode()))

    config = parse({"database": {"url": "file:db_url"}}, base_dir=tmp_path)

    assert config.database.resolved_url() == expected.replace("value", DB_URL)


def test_secret_is_masked_in_repr_str_and_render() -> None:
    config = parse({"database": {"url": "env:CHATOPS_DB_URL"}}, {"CHATOPS_DB_URL": DB_URL})
    secret = config.config_secrets()[0]

    assert str(secret) == "env:CHATOPS_DB_URL (secret, set)"
    assert repr(secret) == "<Secret env:CHATOPS_DB_URL (secret, set)>"
    assert repr(config.database) == (
        "DatabaseSettings(url='', secret=<Secret env:CHATOPS_DB_URL (secret, set)>, "
        "intake_deadline=2.0, ping_timeout=0.5)"
    )
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config)

    rendered = render_config(config)
    assert "hunter2" not in rendered
    assert tomllib.loads(rendered)["database"] == {
        "url": "env:CHATOPS_DB_URL (secret, set)",
        "intake_deadline": 2.0,
        "ping_timeout": 0.5,
    }


def test_masked_render_output_does_not_load_back_as_a_reference() -> None:
    config = parse({"database": {"url": "env:CHATOPS_DB_URL"}}, {"CHATOPS_DB_URL": DB_URL})

    data = tomllib.loads(render_config(config))

    assert error_of(data, {"CHATOPS_DB_URL": DB_URL}) == (
        "database.url: is a masked value printed by render_config; write the reference alone"
    )


def test_secret_is_immutable_and_compares_by_reference_and_value() -> None:
    secret = Secret("env:A", "x")

    with pytest.raises(AttributeError):
        secret.reference = "env:B"
    assert secret == Secret("env:A", "x")
    assert secret != Secret("env:A", "y")
    assert secret != Secret("env:B", "x")
    assert copy.deepcopy(secret) is secret
    with pytest.raises(TypeError, match="a Secret cannot be pickled"):
        pickle.dumps(secret)
    with pytest.raises(ValueError, match="a secret reference looks like env:NAME or file:PATH"):
        Secret("hunter2", "x")


@pytest.mark.parametrize(
    ("url", "environ", "expected"),
    [
        (
            "env:CHATOPS_DB_URL",
            {},
            "database.url: refers to environment variable CHATOPS_DB_URL, which is not set",
        ),
        (
            "env:CHATOPS_DB_URL",
            {"CHATOPS_DB_URL": ""},
            "database.url: refers to environment variable CHATOPS_DB_URL, which is empty",
        ),
        (
            "env:",
            {},
            "database.url: env: does not name an environment variable (letters, digits, _)",
        ),
        (
            "env:CHATOPS_DB_URL",
            {"CHATOPS_DB_URL": "mysql://root:hunter2@db/x"},
            "database.url: unsupported scheme; expected one of sqlite, postgres, postgresql "
            "(in env:CHATOPS_DB_URL)",
        ),
    ],
)
def test_env_secret_errors(url: str, environ: dict[str, str], expected: str) -> None:
    assert error_of({"database": {"url": url}}, environ) == expected


def test_file_secret_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    (tmp_path / "dir").mkdir()

    def message(url: str) -> str:
        return error_of({"database": {"url": url}}, base_dir=tmp_path)

    assert message("file:absent") == (
        f"database.url: refers to file {tmp_path / 'absent'}, which does not exist"
    )
    assert (
        message("file:empty")
        == f"database.url: refers to file {tmp_path / 'empty'}, which is empty"
    )
    assert message("file:binary") == (
        f"database.url: refers to file {tmp_path / 'binary'}, which is not UTF-8 text"
    )
    assert message(f"file:{tmp_path / 'dir'}") == (
        f"database.url: refers to file {tmp_path / 'dir'}, which cannot be read: Is a directory"
    )


@dataclasses.dataclass(frozen=True, slots=True)
class GithubLike:
    """A connector-style section, to show the loader handles every Secret field shape."""

    webhook_secret: Secret
    webhook_secrets: tuple[Secret, ...] = ()
    app_key: Secret | None = None


def test_loader_repr_hides_the_environment() -> None:
    loader = _Loader({"PGURL": DB_URL}, Path("/srv"), {})

    assert repr(loader) == f"_Loader(base_dir={Path('/srv')!r}, origins={{}})"


def load_github(data: dict[str, Any], environ: dict[str, str]) -> GithubLike:
    return _Loader(environ, Path("/nonexistent"), {}).table(GithubLike, data, "github")


def test_secret_typed_fields_load_references() -> None:
    environ = {"HOOK_A": "aaa", "HOOK_B": "bbb"}

    loaded = load_github(
        {"webhook_secret": "env:HOOK_A", "webhook_secrets": ["env:HOOK_A", "env:HOOK_B"]}, environ
    )

    assert loaded == GithubLike(
        webhook_secret=Secret("env:HOOK_A", "aaa"),
        webhook_secrets=(Secret("env:HOOK_A", "aaa"), Secret("env:HOOK_B", "bbb")),
        app_key=None,
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"webhook_secret": "s3cr3t-literal"},
            "github.webhook_secret: secrets are given by reference: write env:NAME or file:PATH",
        ),
        (
            {"webhook_secret": "env:HOOK_A", "webhook_secrets": ["env:HOOK_A", "s3cr3t-literal"]},
            "github.webhook_secrets[1]: secrets are given by reference: "
            "write env:NAME or file:PATH",
        ),
        (
            {"webhook_secret": "env:HOOK_A", "app_key": 12345},
            "github.app_key: expected env:NAME or file:PATH, got an integer",
        ),
        ({}, "github.webhook_secret: missing required key"),
    ],
)
def test_secret_typed_field_errors(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_github(data, {"HOOK_A": "aaa"})

    assert str(info.value) == expected
    assert "s3cr3t" not in str(info.value)


# --------------------------------------------------------------------------- environment overrides


def test_environment_overrides_convert_by_type() -> None:
    environ = {
        "CHATOPS__SERVER__PORT": "9000",
        "CHATOPS__SERVER__SHUTDOWN_TIMEOUT": "2.5",
        "CHATOPS__server__host": "0.0.0.0",
        "CHATOPS__Logging__Level": "debug",
        "CHATOPS__PERMISSIONS__DEFAULT_LEVEL": "Write",
        "CHATOPS__DATABASE__URL": "env:PGURL",
        "PGURL": DB_URL,
        "CHATOPS_CONFIG": "/etc/elsewhere.toml",
        "UNRELATED": "x",
    }

    config = parse({"server": {"port": 1, "host": "::1"}}, environ)

    assert config.server == ServerSettings(host="0.0.0.0", port=9000, shutdown_timeout=2.5)
    assert config.logging.level == "DEBUG"
    assert config.permissions.default_level is Level.WRITE
    assert config.database == DatabaseSettings(url="", secret=Secret("env:PGURL", DB_URL))


def test_environment_overrides_apply_without_a_file() -> None:
    config = load_config(None, {"CHATOPS__WORKERS__CONCURRENCY": "8"})

    assert config == Config(workers=WorkerSettings(concurrency=8))


@pytest.mark.parametrize(
    ("hint", "text", "expected"),
    [
        (bool, "true", True),
        (bool, "Yes", True),
        (bool, "1", True),
        (bool, "false", False),
        (bool, "NO", False),
        (bool, "0", False),
        (int, " 42 ", 42),
        (float, "0.25", 0.25),
        (tuple[str, ...], "a, b,,c ", ["a", "b", "c"]),
        (tuple[str, ...], "", []),
        (str, " kept as is ", " kept as is "),
        (Secret | None, "env:X", "env:X"),
    ],
)
def test_override_text_conversion(hint: Any, text: str, expected: object) -> None:
    assert _override_value(hint, text, "x") == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"CHATOPS__SERVER__PROT": "9000"},
            "server.prot (from CHATOPS__SERVER__PROT): unknown key (did you mean 'port'?)",
        ),
        (
            {"CHATOPS__JIRA__URL": "x"},
            "jira.url (from CHATOPS__JIRA__URL): 'jira': unknown key; expected one of bot, "
            "server, database, workers, outbox, scheduler, logging, permissions, shell, ci, "
            "secrets, github, gitlab, slack, discord",
        ),
        (
            {"CHATOPS__SERVER__PORT": "abc"},
            "server.port (from CHATOPS__SERVER__PORT): expected an integer, got 'abc'",
        ),
        (
            {"CHATOPS__SERVER__PORT": "70000"},
            "server.port (from CHATOPS__SERVER__PORT): must be between 0 and 65535, got 70000",
        ),
        (
            {"CHATOPS__WORKERS__LEASE_SECONDS": "soon"},
            "workers.lease_seconds (from CHATOPS__WORKERS__LEASE_SECONDS): "
            "expected a number, got 'soon'",
        ),
        (
            {"CHATOPS__WORKERS__HANDLER_TIMEOUT": "nan"},
            "workers.handler_timeout (from CHATOPS__WORKERS__HANDLER_TIMEOUT): "
            "expected a finite number, got nan",
        ),
        (
            {"CHATOPS__PERMISSIONS__GRANTS": "admin"},
            "permissions.grants (from CHATOPS__PERMISSIONS__GRANTS): is an array of tables, "
            "which cannot be overridden from the environment; edit the config file",
        ),
        (
            {"CHATOPS__PERMISSIONS__GRANTS__LEVEL": "admin"},
            "permissions.grants.level (from CHATOPS__PERMISSIONS__GRANTS__LEVEL): is an array "
            "of tables, which cannot be overridden from the environment; edit the config file",
        ),
        (
            {"CHATOPS__SERVER": "x"},
            "server (from CHATOPS__SERVER): is a table; override its keys one at a time, "
            "e.g. CHATOPS__SERVER__HOST",
        ),
        (
            {"CHATOPS__SERVER__PORT__X": "1"},
            "server.port.x (from CHATOPS__SERVER__PORT__X): 'port' is a value, not a table",
        ),
        (
            {"CHATOPS__SERVER__": "1"},
            "environment variable CHATOPS__SERVER__ does not name a setting; "
            "write CHATOPS__<SECTION>__<KEY>, e.g. CHATOPS__SERVER__PORT",
        ),
        (
            {"CHATOPS__SERVER__PORT": "1", "CHATOPS__server__port": "2"},
            "server.port (from CHATOPS__server__port): also set by CHATOPS__SERVER__PORT",
        ),
        (
            {"CHATOPS__DATABASE__URL": "env:PGURL"},
            "database.url (from CHATOPS__DATABASE__URL): "
            "refers to environment variable PGURL, which is not set",
        ),
        (
            {"CHATOPS__DATABASE__URL": DB_URL},
            "database.url (from CHATOPS__DATABASE__URL): embeds a password; "
            "put the URL in an environment variable and write env:NAME",
        ),
    ],
)
def test_environment_override_errors(environ: dict[str, str], expected: str) -> None:
    assert error_of({}, environ) == expected


def test_override_into_a_section_that_is_not_a_table() -> None:
    assert error_of({"server": 5}, {"CHATOPS__SERVER__PORT": "1"}) == (
        "server: expected a table, got 5"
    )


# --------------------------------------------------------------------------- rendering


def round_trip(config: Config) -> Config:
    return parse_config(tomllib.loads(render_config(config)), {}, base_dir=Path("/nonexistent"))


def test_render_defaults_shows_every_section_and_key() -> None:
    data = tomllib.loads(render_config(Config()))
    # the platforms' sections are pinned by test_example_file_states_every_default
    platforms = {name: data.pop(name) for name in ("github", "gitlab", "slack", "discord")}

    assert all(section["enabled"] is False for section in platforms.values())
    assert data == {
        "bot": {
            "name": "chatops",
            "public_url": "http://127.0.0.1:8080",
            "max_commands_per_event": 10,
            "max_command_chars": 4000,
        },
        "server": {
            "host": "127.0.0.1",
            "port": 8080,
            "shutdown_timeout": 10.0,
            "header_timeout": 10.0,
            "body_timeout": 10.0,
            "max_unverified_bodies": 4,
            "role": "all",
        },
        "database": {
            "url": "sqlite://chatops.sqlite3",
            "intake_deadline": 2.0,
            "ping_timeout": 0.5,
        },
        "workers": {
            "concurrency": 4,
            "lease_seconds": 60.0,
            "poll_interval": 0.5,
            "max_attempts": 5,
            "handler_timeout": 30.0,
            "stalled_after": 30.0,
        },
        "outbox": {
            "concurrency": 4,
            "lease_seconds": 60.0,
            "max_attempts": 8,
            "backoff_base": 1.0,
            "backoff_cap": 300.0,
            "acknowledge_after": 2.0,
        },
        "scheduler": {
            "timezone": "UTC",
            "housekeeping_cron": "17 3 * * *",
            "retention_days": 14,
            "audit_retention_days": 90,
        },
        "logging": {"level": "INFO", "format": "auto"},
        "permissions": {"default_level": "read", "grants": []},
        "shell": {"user": "local"},
        "ci": {
            "rescan_window_seconds": 120,
            "stuck_after_minutes": 60,
            "reconcile_cron": "*/10 * * * *",
            "workflows": [],
        },
        "secrets": {
            "alert_cron": "0 9 * * *",
            "timezone": "UTC",
            "thresholds_days": [30, 7, 1, 0],
            "stale_after_days": 90,
            "expiring_within_days": 30,
            "tracked": [],
            "usage_tokens": [],
        },
    }
    assert round_trip(Config()) == Config()


def test_render_round_trips_a_customised_config() -> None:
    config = Config(
        bot=BotSettings(name='quote " back\\slash\ttab é', public_url="https://ops.example.com"),
        server=ServerSettings(host="0.0.0.0", port=0, shutdown_timeout=0.001),
        database=DatabaseSettings(url="postgres://chatops@db:5432/chatops"),
        workers=WorkerSettings(lease_seconds=1e6, handler_timeout=12.5),
        scheduler=SchedulerSettings(
            timezone="Europe/Berlin", housekeeping_cron="*/5 1-3 * jan mon-fri"
        ),
        logging=LoggingSettings(level="ERROR", format="text"),
        permissions=PermissionsSettings(
            default_level=Level.WRITE,
            grants=(
                PermissionGrant(level=Level.ADMIN, platform="shell", users=("*",)),
                PermissionGrant(
                    level=Level.WRITE,
                    platform="slack",
                    users=("U1", "U2"),
                    groups=("S1",),
                    repos=("acme/*", "other/repo"),
                ),
            ),
        ),
        shell=ShellSettings(user="line\nbreak\x7f"),
    )

    assert round_trip(config) == config


def test_render_example_file_round_trips() -> None:
    config = load_config(EXAMPLE, {})

    rendered = render_config(config)

    assert round_trip(config) == dataclasses.replace(config, source=None)
    assert rendered.splitlines()[:3] == [
        "# Effective chatops-bridge configuration.",
        f"# Source: {EXAMPLE.absolute()} (plus environment overrides).",
        "# Secrets are masked: only their references are shown.",
    ]
    assert '\n[[permissions.grants]]\nlevel = "admin"\nplatform = "shell"\n' in rendered
