"""Reading the deployment files (docker/Dockerfile, the compose files, docker/Caddyfile, .env.example) the way the
tools that run them do, and the project's own names (settings, CLI commands, routes) to check them against.

No Docker daemon here: compose files go through Debian's ``docker-compose`` (``config``), the Caddyfile through
Debian's ``caddy`` (``validate``, and run for real on loopback); without them the tests that need them skip and say
why (``.ci/run`` installs both).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from pydantic import BaseModel

from app.main import create_app
from askdocs.settings import Settings
from cli.main import app as cli_app

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
CLUSTER = ROOT / "docker" / "cluster.compose.yml"
CADDYFILE = ROOT / "docker" / "Caddyfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = ROOT / "pyproject.toml"
MAKEFILE = ROOT / "Makefile"

ENV_NAME = re.compile(r"\bASKDOCS_[A-Z0-9_]*[A-Z0-9]")
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
URL = re.compile(r"https?://[^\s'\"]+")
# The one variable the compose files require; tests give it this value.
PASSWORD_VAR, TEST_PASSWORD = "POSTGRES_PASSWORD", "test0password"

Instruction = tuple[str, str]


# --- compose ---------------------------------------------------------------------------------------------------


def compose_files() -> list[Path]:
    """Every compose file in the repository (not in the venv, caches or git's own files)."""
    skip = {".git", ".venv", "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
    found = [p for p in ROOT.rglob("*compose*.y*ml") if not skip & set(p.relative_to(ROOT).parts)]
    return sorted(found)


def docker_compose() -> str:
    """The ``docker-compose`` executable, or a skip that says why the files go unvalidated."""
    found = shutil.which("docker-compose")
    if found is None:
        pytest.skip(
            "docker-compose is not installed, so the compose files are NOT validated (apt-get install docker-compose)"
        )
    return found


def run_compose(path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f PATH ARGS`` with only ``env`` set of the variables the compose files read (default: the
    required password), and no ``.env`` file, so that neither the host nor a developer's .env changes the result."""
    read = set(example_variables()) | {"TORCH_INDEX_URL"}
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_") and k not in read}
    given = {PASSWORD_VAR: TEST_PASSWORD} if env is None else env
    with tempfile.NamedTemporaryFile("w", suffix=".env") as empty:
        argv = [docker_compose(), "--env-file", empty.name, "--project-directory", str(path.parent), "-f", str(path)]
        return subprocess.run(
            [*argv, *args], env=base | given, capture_output=True, text=True, timeout=120, check=False
        )


@functools.cache
def resolved(path: Path) -> dict[str, Any]:
    """A compose file as Compose itself reads it: anchors merged, variables interpolated, paths made absolute.
    Read once per process (each ``docker-compose config`` costs most of a second); callers must not change it."""
    done = run_compose(path, "config")
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(done.stdout)
    assert isinstance(data, dict)
    return data


def raw(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def service(name: str, path: Path = COMPOSE) -> dict[str, Any]:
    services = raw(path)["services"]
    assert name in services, f"no service {name!r} in {path.relative_to(ROOT)}"
    spec = services[name]
    assert isinstance(spec, dict)
    return spec


def environment(spec: dict[str, Any]) -> dict[str, str]:
    env = spec.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def interpolate_unset(value: str, given: dict[str, str] | None = None) -> str:
    """Compose's interpolation with only ``given`` set: ``${VAR:-d}`` -> ``d``; ``${VAR:?e}`` needs VAR given."""

    def one(match: re.Match[str]) -> str:
        name, how, rest = match.group(1), match.group(2) or "", match.group(3) or ""
        if given and given.get(name):
            return given[name]
        assert "?" not in how, f"${{{name}}} is required: {rest}"
        return rest if "-" in how else ""

    return INTERPOLATION.sub(one, value)


def askdocs_services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the askdocs image (the others are Qdrant, PostgreSQL, the proxy, the LLM)."""
    return {name: spec for name, spec in data["services"].items() if spec.get("image") == "askdocs:local"}


def healthcheck_argv(spec: dict[str, Any]) -> list[str]:
    test = spec["healthcheck"]["test"]
    assert isinstance(test, list), "healthcheck.test should be a list (exec form)"
    assert test[0] in ("CMD", "CMD-SHELL"), test
    return [str(word) for word in test[1:]]


def volume_pairs(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume in short form, ``${VAR:-default}`` sources as their default."""
    return [tuple(interpolate_unset(str(v)).split(":")[:2]) for v in spec.get("volumes", [])]  # type: ignore[misc]


def compose_variables(path: Path) -> set[str]:
    return {m.group(1) for m in INTERPOLATION.finditer(path.read_text(encoding="utf-8"))}


def example_variables() -> dict[str, bool]:
    """The variables .env.example lists: name -> set (a ``NAME=`` line) or only shown (``# NAME=default``)."""
    found: dict[str, bool] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(r"(# )?([A-Z][A-Z0-9_]*)=.*", line):
            found[match.group(2)] = match.group(1) is None
    return found


# --- the project's names ------------------------------------------------------------------------------------------


def settings_field(env_name: str) -> tuple[type[BaseModel], str] | None:
    """The model and leaf field that ``ASKDOCS_A__B`` sets, or None if it sets nothing."""
    prefix = str(Settings.model_config.get("env_prefix"))
    delimiter = str(Settings.model_config.get("env_nested_delimiter"))
    if not env_name.startswith(prefix):
        return None
    model: type[BaseModel] = Settings
    parts = env_name.removeprefix(prefix).lower().split(delimiter)
    for depth, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if depth == len(parts) - 1:
            return None if nested else (model, part)
        if not nested:
            return None
        assert isinstance(annotation, type)
        model = annotation
    return None


def cli_commands() -> dict[str, Any]:
    """The subcommands of ``askdocs``, as click (typer's) command objects."""
    commands = getattr(typer.main.get_command(cli_app), "commands", None)
    assert isinstance(commands, dict), "cli.main.app should be a group of commands"
    return commands


def cli_options(command: Any) -> set[str]:
    return {opt for param in command.params for opt in param.opts if opt.startswith("-")}


def route_paths() -> set[str]:
    return set(create_app().openapi()["paths"])


def project_script() -> str:
    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["scripts"]
    (name,) = scripts
    assert scripts[name] == "cli.main:main"
    return str(name)


def check_argv(argv: list[str]) -> None:
    """``askdocs CMD [SUBCMD] --opt ...``: the executable, the command (and a group's subcommand), each option."""
    assert argv[0] == project_script(), argv
    assert argv[1] in cli_commands(), f"{argv[1]!r} is not an askdocs command"
    command, words, name = cli_commands()[argv[1]], argv[2:], argv[1]
    subcommands = getattr(command, "commands", None)
    if isinstance(subcommands, dict):  # a group: `askdocs db upgrade`
        assert words and words[0] in subcommands, f"'askdocs {name}' has no subcommand {words[:1]}"
        command, name, words = subcommands[words[0]], f"{name} {words[0]}", words[1:]
    unknown = {word.partition("=")[0] for word in words if word.startswith("--")} - cli_options(command)
    assert not unknown, f"options unknown to 'askdocs {name}': {sorted(unknown)}"


# --- docker/Dockerfile ---------------------------------------------------------------------------------------------


def dockerfile_stages(text: str) -> list[list[Instruction]]:
    """Instructions as (KEYWORD, arguments), grouped by stage; continuations joined, comments dropped."""
    stages: list[list[Instruction]] = []
    pending = ""
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        pending = ""
        if keyword.upper() == "FROM":
            stages.append([])
        assert stages, f"instruction before FROM: {keyword}"
        stages[-1].append((keyword.upper(), args.strip()))
    return stages


def dockerfile() -> list[list[Instruction]]:
    return dockerfile_stages(DOCKERFILE.read_text(encoding="utf-8"))


def instructions(stage: list[Instruction], keyword: str) -> list[str]:
    return [args for kw, args in stage if kw == keyword]


def exec_form(args: str) -> list[str]:
    argv = json.loads(args)
    assert isinstance(argv, list), args
    assert all(isinstance(a, str) for a in argv), args
    return argv


def env_assignments(stage: list[Instruction]) -> dict[str, str]:
    values: dict[str, str] = {}
    for args in instructions(stage, "ENV"):
        for word in shlex.split(args):
            key, sep, value = word.partition("=")
            assert sep, f"ENV in the legacy 'KEY value' form: {args}"
            values[key] = value
    return values


def copy_sources(stage: list[Instruction]) -> list[str]:
    sources: list[str] = []
    for args in instructions(stage, "COPY"):
        words = shlex.split(args)
        if any(word.startswith("--from") for word in words):
            continue
        sources += [word for word in words if not word.startswith("--")][:-1]
    return sources


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


# --- docker/Caddyfile -------------------------------------------------------------------------------------------------


def caddy() -> str:
    """The ``caddy`` executable, or a skip that says why the proxy's configuration goes unchecked."""
    found = shutil.which("caddy")
    if found is None:
        pytest.skip("caddy is not installed, so docker/Caddyfile is NOT validated (apt-get install caddy)")
    return found


def caddy_defaults() -> dict[str, str]:
    """The Caddyfile's ``{$VAR:default}`` placeholders: name -> default."""
    text = CADDYFILE.read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for m in re.finditer(r"\{\$(\w+):([^}]*)\}", text)}


def unknown_settings(names: set[str]) -> list[str]:
    """The ``ASKDOCS_`` names that set no field of the settings tree."""
    return sorted(name for name in names if settings_field(name) is None)
