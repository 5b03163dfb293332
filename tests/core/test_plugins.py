"""Plugins: a feature from an installed distribution, loaded through its entry point.

Each test "installs" the example plugin (``tests/example_plugin``) the way pip would leave
it for ``importlib.metadata``: a ``*.dist-info`` directory with ``METADATA`` and
``entry_points.txt``, in a temporary directory put on ``sys.path``. Nothing is installed
into the environment, so the other tests never see it.
The plugin's settings are tested in ``test_plugins_settings``.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

from bot.app import builtin_features, load_features, open_shell
from bot.config import Config
from bot.features import commands_feature
from bot.plugins import GROUP, PluginError
from bot.store.database import Database
from commands import ping
from connectors.shell.client import ShellConnector
from connectors.shell.inbound import ShellSession
from tests.core.test_cli import ROOT, chatops
from tests.fakes.clock import FakeClock
from tests.snapshot import Snapshot

GREETINGS = "greetings = tests.example_plugin:FEATURE"
# what ``chatops shell`` says on stderr when it starts on a new SQLite database
MIGRATED = "chatops: applied pending migrations to the local database\n"


def install(root: Path, monkeypatch: pytest.MonkeyPatch, *entry_points: str) -> None:
    """A distribution named ``chatops-example`` 0.1 declaring ``entry_points``."""
    info = root / "chatops_example-0.1.dist-info"
    info.mkdir()
    info.joinpath("METADATA").write_text(
        "Metadata-Version: 2.1\nName: chatops-example\nVersion: 0.1\n"
    )
    info.joinpath("entry_points.txt").write_text(f"[{GROUP}]\n" + "\n".join(entry_points) + "\n")
    monkeypatch.syspath_prepend(str(root))


def bare_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration file naming only a database, with no ``CHATOPS`` variables set."""
    for name in [name for name in os.environ if name.startswith("CHATOPS")]:
        monkeypatch.delenv(name)
    path = tmp_path / "chatops.toml"
    path.write_text(f'[database]\nurl = "sqlite://{tmp_path / "bot.sqlite3"}"\n')
    return path


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return bare_config(tmp_path, monkeypatch)


def test_chatops_plugins_lists_built_in_and_plugin_features(
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    snapshot: Snapshot,
) -> None:
    from bot.cli import main

    (tmp_path / "site").mkdir()
    install(tmp_path / "site", monkeypatch, GREETINGS)
    assert main(["--config", str(config_file), "plugins"]) == 0
    # the whole listing: the built-in features' lines, then the plugin's
    snapshot.check("chatops_plugins.txt", capsys.readouterr().out)


def test_without_plugins_the_built_in_features_are_all(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    assert main(["--config", str(config_file), "plugins"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in listed[:-1]] == ["core", "ci", "channels", "secrets"]
    assert listed[-1] == f"no plugins installed (entry-point group {GROUP})"


def chatops_shell(
    config_file: Path, site: Path, text: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``chatops shell`` in a process of its own, as a script pipes ``text`` to it, with the
    distributions ``install`` wrote to ``site`` importable."""
    path = os.pathsep.join((str(site), str(ROOT)))
    return chatops(
        "--config",
        str(config_file),
        "shell",
        cwd=config_file.parent,
        stdin=text,
        env={"PYTHONPATH": path, **(env or {})},
    )


def test_a_plugin_command_runs_through_chatops_shell(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "site").mkdir()
    install(tmp_path / "site", monkeypatch, GREETINGS)
    ran = chatops_shell(config_file, tmp_path / "site", "hello ops\nhelp hello\n")
    assert (ran.returncode, ran.stdout, ran.stderr) == (
        0,
        "Hello, ops!\n"
        "from: chatops\n"
        "\n"
        "help: hello\n"
        "Say hello (an example plugin's command).\n"
        "Needs read access.\n"
        "Usage: hello [NAME]\n"
        "Examples:\n"
        "  hello\n"
        "  hello ops\n",
        MIGRATED,
    )


async def test_a_plugin_command_in_a_shell_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    install(tmp_path, monkeypatch, GREETINGS)
    output, clock = io.StringIO(), FakeClock()
    connector = ShellConnector(output)
    features = load_features().features
    async with open_shell(Config(), database, connector, features=features, clock=clock) as pipe:
        session = ShellSession(pipe, connector, user="operator", reply_timeout=10.0)
        await session.run_line("hello")
    assert output.getvalue() == "Hello, operator!\nfrom: chatops\n"


@pytest.mark.parametrize(
    ("entry_point", "why"),
    [
        (
            "broken = tests.example_plugin:MISSING",
            "could not be imported: AttributeError: module 'tests.example_plugin' has no "
            "attribute 'MISSING'",
        ),
        (
            "broken = tests.example_plugin:NOT_A_FEATURE",
            "is not a feature: it needs a 'name', a 'section' and a 'setup(host)' "
            "(see bot.features)",
        ),
        ("broken = tests.no_such_plugin:FEATURE", "could not be imported: ModuleNotFoundError"),
    ],
)
def test_a_plugin_that_cannot_be_loaded_is_named_and_nothing_starts(
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    entry_point: str,
    why: str,
) -> None:
    from bot.cli import main

    (tmp_path / "site").mkdir()
    install(tmp_path / "site", monkeypatch, entry_point)
    # refused before the shell reads a line (pytest's stdin would fail the test if it did)
    assert main(["--config", str(config_file), "shell"]) == 1
    printed = capsys.readouterr()
    assert printed.out == ""
    target = entry_point.split(" = ")[1]
    assert printed.err.startswith(
        f"chatops: plugin 'broken' ({target}, from chatops-example 0.1) {why}"
    )


def test_a_feature_name_or_command_taken_twice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "ci = tests.core.test_plugins:SECOND_CI")
    with pytest.raises(PluginError) as taken:
        load_features()
    assert str(taken.value) == (
        "plugin 'ci' (tests.core.test_plugins:SECOND_CI, from chatops-example 0.1): "
        "a feature with that name is already loaded"
    )
    from bot.app import listed

    with pytest.raises(PluginError) as declared:
        listed([*builtin_features(), commands_feature("pings", ping.commands())])
    assert str(declared.value) == (
        "feature 'pings' declares the command 'ping', which feature 'core' already declares"
    )


SECOND_CI = commands_feature("ci", ())
