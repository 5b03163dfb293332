"""A plugin's settings: its feature declares a section and the dataclass it is read into,
and the configuration validates ``[greetings]`` like a built-in section.

End to end through ``chatops shell`` and ``check-config``, with the example plugin
installed as ``test_plugins`` installs it: the default (``test_plugins``), a configured
value, an environment override, invalid values reported with the built-in sections'
errors, a section no loaded plugin owns, and settings declarations the loader refuses.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from bot.app import load_features, open_shell
from bot.config import Config, Section, load_config, render_config
from bot.features import FeatureHost, Provided
from bot.plugins import PluginError, load_plugins, plugin_sections
from bot.store.database import Database
from connectors.shell.client import ShellConnector
from connectors.shell.inbound import ShellSession
from tests.core.test_plugins import GREETINGS, MIGRATED, bare_config, chatops_shell, install
from tests.example_plugin import Greetings, GreetingsSettings


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return bare_config(tmp_path, monkeypatch)


def shell_refuses(config_file: Path) -> int:
    """``chatops shell`` on ``config_file``, in this process, for a configuration it refuses
    before reading a line (pytest's stdin would fail the test if it read one); exit code."""
    from bot.cli import main

    return main(["--config", str(config_file), "shell"])


def with_section(config_file: Path, section: str) -> Path:
    config_file.write_text(config_file.read_text() + section)
    return config_file


def test_the_plugin_reads_its_configured_section(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, GREETINGS)
    with_section(config_file, '[greetings]\ngreeting = "Howdy"\n')
    ran = chatops_shell(config_file, tmp_path, "hello ops\n")
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "Howdy, ops!\nfrom: chatops\n", MIGRATED)


def test_an_environment_variable_overrides_the_plugin_section(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, GREETINGS)
    with_section(config_file, '[greetings]\ngreeting = "Howdy"\n')
    ran = chatops_shell(
        config_file, tmp_path, "hello\n", env={"CHATOPS__GREETINGS__GREETING": "Good day"}
    )
    assert (ran.returncode, ran.stdout, ran.stderr) == (
        0,
        "Good day, local!\nfrom: chatops\n",
        MIGRATED,
    )


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ("greeting = 3\n", "greetings.greeting: expected a string, got 3"),
        ('greeting = ""\n', "greetings.greeting: must not be empty"),
        ('greeting = "Hi\\nall"\n', "greetings.greeting: must be one line"),
        ('greting = "Hi"\n', "greetings.greting: unknown key (did you mean 'greeting'?)"),
    ],
)
def test_an_invalid_plugin_setting_stops_the_shell_with_the_key_path(
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    section: str,
    error: str,
) -> None:
    install(tmp_path, monkeypatch, GREETINGS)
    with_section(config_file, f"[greetings]\n{section}")
    assert shell_refuses(config_file) == 1
    assert capsys.readouterr() == ("", f"chatops: invalid configuration: {error}\n")


def test_check_config_reports_plugin_errors_with_the_others(
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    install(tmp_path, monkeypatch, GREETINGS)
    with_section(
        config_file,
        '[greetings]\ngreeting = ""\ncolour = "blue"\n[server]\nport = 70000\n',
    )
    monkeypatch.setenv("CHATOPS__GREETINGS__GREETING", "")
    assert main(["check-config", str(config_file)]) == 1
    assert capsys.readouterr() == (
        "",
        "chatops: invalid configuration: 3 errors:\n"
        "  server.port: must be between 0 and 65535, got 70000\n"
        "  greetings.colour: unknown key; expected one of greeting\n"
        "  greetings.greeting (from CHATOPS__GREETINGS__GREETING): must not be empty\n",
    )


def test_check_config_prints_the_plugin_section(
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    install(tmp_path, monkeypatch, GREETINGS)
    builtin = render_config(load_config(config_file, {}))
    with_section(config_file, '[greetings]\ngreeting = "Howdy"\n')
    assert main(["check-config", str(config_file)]) == 0
    assert capsys.readouterr() == (builtin + '\n[greetings]\ngreeting = "Howdy"\n', "")


def test_without_its_plugin_the_section_is_refused_and_named(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with_section(config_file, '[greetings]\ngreeting = "Howdy"\n')
    assert shell_refuses(config_file) == 1
    assert capsys.readouterr() == (
        "",
        "chatops: invalid configuration: greetings: unknown section: neither a built-in "
        "section nor one of a loaded plugin's (is its plugin installed?); expected one of "
        "bot, server, database, workers, outbox, scheduler, logging, permissions, shell, ci, "
        "secrets, github, gitlab, slack, discord\n",
    )


def test_with_its_plugin_a_misspelt_section_is_named_with_the_right_one(
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install(tmp_path, monkeypatch, GREETINGS)
    with_section(config_file, '[greeting]\ngreeting = "Howdy"\n')
    assert shell_refuses(config_file) == 1
    assert capsys.readouterr() == (
        "",
        "chatops: invalid configuration: greeting: unknown key (did you mean 'greetings'?)\n",
    )


async def test_a_hand_built_configuration_gives_the_plugin_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    install(tmp_path, monkeypatch, GREETINGS)
    output = io.StringIO()
    connector = ShellConnector(output)
    config = Config(plugin_sections=(("greetings", GreetingsSettings(greeting="Hey")),))
    features = load_features().features
    async with open_shell(config, database, connector, features=features) as pipe:
        await ShellSession(pipe, connector, user="operator", reply_timeout=10.0).run_line("hello")
    assert output.getvalue() == "Hey, operator!\nfrom: chatops\n"


@dataclasses.dataclass(frozen=True, slots=True)
class ListSettings(Section):
    names: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, slots=True)
class Misdeclared:
    """A feature whose settings the configuration could not read."""

    name: str
    section: str | None
    schema: object

    def setup(self, host: FeatureHost) -> Provided:
        return Provided()


CI_SECTION = Greetings(name="ci-greetings", section="ci")
SECOND_SECTION = Greetings(name="other")
UNREADABLE = Misdeclared("lists", "lists", ListSettings)
NOT_A_SCHEMA = Misdeclared("dicts", "dicts", dict)
NO_SECTION = Misdeclared("nowhere", None, GreetingsSettings)


@pytest.mark.parametrize(
    ("entry_point", "why"),
    [
        (
            "lists = tests.core.test_plugins_settings:UNREADABLE",
            "its settings schema ListSettings has a key of a type the configuration cannot "
            "read: lists.names: list[str]",
        ),
        (
            "dicts = tests.core.test_plugins_settings:NOT_A_SCHEMA",
            "its settings schema must be a dataclass deriving from bot.config.Section, "
            "got <class 'dict'>",
        ),
        (
            "nowhere = tests.core.test_plugins_settings:NO_SECTION",
            "its settings schema GreetingsSettings needs a section to be read from: a "
            "lower-case word (letters, digits, _), got None",
        ),
    ],
)
def test_a_settings_schema_the_configuration_cannot_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry_point: str, why: str
) -> None:
    install(tmp_path, monkeypatch, entry_point)
    with pytest.raises(PluginError) as refused:
        load_plugins()
    name, target = entry_point.split(" = ")
    assert str(refused.value) == f"plugin {name!r} ({target}, from chatops-example 0.1): {why}"


def test_a_plugin_section_that_is_built_in_stops_the_cli_before_the_configuration(
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    install(tmp_path, monkeypatch, "ci-greetings = tests.core.test_plugins_settings:CI_SECTION")
    assert main(["check-config", str(config_file)]) == 1
    assert capsys.readouterr() == (
        "",
        "chatops: plugin 'ci-greetings' (tests.core.test_plugins_settings:CI_SECTION, from "
        "chatops-example 0.1): its settings section [ci] is a built-in one\n",
    )


def test_two_plugins_cannot_own_one_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(
        tmp_path, monkeypatch, GREETINGS, "other = tests.core.test_plugins_settings:SECOND_SECTION"
    )
    with pytest.raises(PluginError) as taken:
        plugin_sections(load_plugins())
    assert str(taken.value) == (
        "plugin 'other' (tests.core.test_plugins_settings:SECOND_SECTION, from "
        "chatops-example 0.1): its settings section [greetings] is already that of plugin "
        "'greetings' (tests.example_plugin:FEATURE)"
    )
