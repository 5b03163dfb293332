"""deploy/: the manifests and the image's settings agree with the code they run.

The linters in CI (hadolint, kubernetes-validate) check the files' own grammar; these tests
check what only this project knows: the probes hit routes the app serves, the configuration
handed to the containers loads with the real loader, and every secret the configuration
refers to is given to the container by reference.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

from bot.app import create_app
from bot.config import load_config, parse_config
from bot.config.settings import Config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"


def _manifest(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((KUBERNETES / name).read_text(encoding="utf-8"))
    return data


def _routes(config: Config) -> set[tuple[str, str]]:
    app = create_app(config, configured_platforms=True)
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
    }


def _container(manifest: dict[str, Any]) -> dict[str, Any]:
    [container] = manifest["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def _secret_env(container: dict[str, Any]) -> dict[str, str]:
    """Variable name -> Secret key, for every variable filled from a Secret."""
    found: dict[str, str] = {}
    for variable in container["env"]:
        ref = variable.get("valueFrom", {}).get("secretKeyRef")
        if ref is not None:
            assert ref["name"] == "chatops-secrets"
            found[variable["name"]] = ref["key"]
    return found


def test_the_deployment_runs_three_replicas_probed_on_routes_the_app_serves() -> None:
    deployment = _manifest("deployment.yaml")
    container = _container(deployment)
    config = parse_config({}, {}, base_dir=ROOT)
    routes = _routes(config)

    assert deployment["spec"]["replicas"] == 3
    probes = {
        kind: (container[kind]["httpGet"]["path"], container[kind]["httpGet"]["port"])
        for kind in ("livenessProbe", "readinessProbe")
    }
    assert probes == {"livenessProbe": ("/healthz", "http"), "readinessProbe": ("/readyz", "http")}
    assert {("GET", "/healthz"), ("GET", "/readyz")} <= routes
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]
    assert _manifest("service.yaml")["spec"]["ports"][0]["targetPort"] == "http"


def test_the_configmap_loads_with_the_secrets_the_deployment_and_the_job_pass_in() -> None:
    text = _manifest("configmap.yaml")["data"]["chatops.toml"]
    secret_env = _secret_env(_container(_manifest("deployment.yaml")))
    job_env = _secret_env(
        _manifest("migrate-job.yaml")["spec"]["template"]["spec"]["containers"][0]
    )
    references = set(re.findall(r'"env:([A-Z_]+)"', text))

    environ = {name: "postgres://chatops:pw@db:5432/chatops" for name in secret_env}
    config = _load(text, environ)

    assert references == set(secret_env)
    assert job_env == {"CHATOPS_DATABASE_URL": "database-url"}
    assert config.server.host == "0.0.0.0"
    assert config.server.port == 8080
    assert config.database.resolved_url() == "postgres://chatops:pw@db:5432/chatops"


def _load(text: str, environ: dict[str, str]) -> Config:
    return parse_config(tomllib.loads(text), environ, base_dir=ROOT)


def test_the_image_settings_are_valid_overrides_of_the_template() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    overrides = dict(re.findall(r"(CHATOPS__[A-Z_]+)=(\S+)", dockerfile))

    config = load_config(ROOT / "config.example.toml", overrides)

    assert overrides == {
        "CHATOPS__SERVER__HOST": "0.0.0.0",
        "CHATOPS__SERVER__PORT": "8080",
        "CHATOPS__DATABASE__URL": "sqlite:///data/chatops.sqlite3",
        "CHATOPS__LOGGING__FORMAT": "json",
    }
    assert (config.server.host, config.server.port) == ("0.0.0.0", 8080)
    assert config.database.resolved_url() == "sqlite:///data/chatops.sqlite3"


def test_compose_hands_the_bot_its_database_by_reference() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    environment = dict(compose["services"]["chatops"]["environment"])
    environ = {
        "CHATOPS__DATABASE__URL": environment["CHATOPS__DATABASE__URL"],
        "CHATOPS_DATABASE_URL": environment["CHATOPS_DATABASE_URL"].replace(
            "${POSTGRES_PASSWORD}", "secret-pw"
        ),
    }

    config = load_config(ROOT / "config.example.toml", environ)

    assert config.database.resolved_url() == "postgres://chatops:secret-pw@postgres:5432/chatops"
    assert compose["services"]["chatops"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"}
    }


def test_the_entrypoint_runs_the_chatops_command_it_is_given(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent  # the venv's, where `chatops` is installed
    result = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "--version"],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "CHATOPS_MIGRATE": "1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode, result.stderr) == (0, "")
    assert re.fullmatch(r"chatops-bridge \S+\n", result.stdout)
    assert list(tmp_path.iterdir()) == []  # --version is not serve: nothing migrated
