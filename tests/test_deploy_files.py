"""The deployment files (docker/Dockerfile, docker-compose.yml, .dockerignore) against the code they deploy.

No Docker daemon here. Every compose file goes through a real Compose validator (Debian's ``docker-compose``,
which ``.ci/run`` installs; without it those tests skip and say so), and the files are parsed and checked
against the settings tree, the CLI, the HTTP routes and the repository's layout, so that a renamed setting,
command or endpoint breaks a test, not a deployment.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml
from pydantic import BaseModel

from app.main import create_app
from askdocs.runtime import DEFAULTS
from askdocs.settings import LLMSettings, Settings
from cli.main import app as cli_app

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = ROOT / "pyproject.toml"
MAKEFILE = ROOT / "Makefile"

ENV_NAME = re.compile(r"\bASKDOCS_[A-Z0-9_]*[A-Z0-9]")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")
URL = re.compile(r"https?://[^\s'\"]+")

Instruction = tuple[str, str]


# --- helpers ------------------------------------------------------------------------------------------


def dockerfile_stages(text: str) -> list[list[Instruction]]:
    """Instructions as (KEYWORD, arguments), grouped by stage; continuations joined, comments dropped."""
    stages: list[list[Instruction]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
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


def run_compose(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f PATH ARGS`` with none of the host's ASKDOCS_* or build variables set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_") and k != "TORCH_INDEX_URL"}
    argv = [docker_compose(), "--project-directory", str(path.parent), "-f", str(path), *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def resolved_compose() -> dict[str, Any]:
    """docker-compose.yml as Compose itself reads it: anchors merged, ``${VAR:-default}`` interpolated."""
    done = run_compose(COMPOSE, "config")
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(done.stdout)
    assert isinstance(data, dict)
    return data


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"no service {name!r} in docker-compose.yml"
    spec = services[name]
    assert isinstance(spec, dict)
    return spec


def environment(spec: dict[str, Any]) -> dict[str, str]:
    env = spec.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def interpolate_unset(value: str) -> str:
    """Compose's interpolation with none of the variables set on the host: ``${VAR:-d}`` -> ``d``."""
    return INTERPOLATION.sub(lambda m: m.group(2) or "", value)


def healthcheck_argv(spec: dict[str, Any]) -> list[str]:
    test = spec["healthcheck"]["test"]
    assert isinstance(test, list), "healthcheck.test should be a list (exec form)"
    assert test[0] in ("CMD", "CMD-SHELL"), test
    return [str(word) for word in test[1:]]


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


def cli_options(name: str) -> set[str]:
    return {opt for param in cli_commands()[name].params for opt in param.opts if opt.startswith("-")}


def route_paths() -> set[str]:
    return set(create_app().openapi()["paths"])


def project_script() -> str:
    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["scripts"]
    (name,) = scripts
    assert scripts[name] == "cli.main:main"
    return str(name)


def check_argv(argv: list[str]) -> None:
    """``askdocs CMD --opt ...``: the executable, the command and each option exist."""
    assert argv[0] == project_script(), argv
    assert argv[1] in cli_commands(), f"{argv[1]!r} is not an askdocs command"
    unknown = {word.partition("=")[0] for word in argv[2:] if word.startswith("--")} - cli_options(argv[1])
    assert not unknown, f"options unknown to 'askdocs {argv[1]}': {sorted(unknown)}"


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


# --- the helpers themselves (so that the checks below can fail) ----------------------------------------


@pytest.mark.parametrize(
    "name", ["ASKDOCS_QDRANT__URL", "ASKDOCS_LLM__BASE_URL", "ASKDOCS_ADMIN_TOKEN", "ASKDOCS_DATA_DIR"]
)
def test_settings_field_resolves_real_names(name: str) -> None:
    assert settings_field(name) is not None


@pytest.mark.parametrize(
    "name",
    ["ASKDOCS_QDRANT__URLS", "ASKDOCS_QDRANT_URL", "ASKDOCS_LLM", "ASKDOCS_DATA_DIR__X", "QDRANT__URL"],
)
def test_settings_field_rejects_unknown_names(name: str) -> None:
    assert settings_field(name) is None


def test_dockerfile_parser_joins_continuations_and_splits_stages() -> None:
    text = '# c\nFROM a AS one\nRUN x \\\n    # inner\n    && y\nFROM b\nCMD ["z"]\n'
    assert dockerfile_stages(text) == [[("FROM", "a AS one"), ("RUN", "x && y")], [("FROM", "b"), ("CMD", '["z"]')]]


# --- docker-compose.yml --------------------------------------------------------------------------------


def test_the_repository_has_a_compose_file_to_validate() -> None:
    assert COMPOSE in compose_files()


@pytest.mark.parametrize("path", compose_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_compose_file_passes_the_compose_validator(path: Path) -> None:
    done = run_compose(path, "config", "-q")
    assert done.returncode == 0, f"docker-compose rejects {path.relative_to(ROOT)}:\n{done.stderr}"


def test_the_compose_validator_rejects_an_environment_line_under_depends_on(tmp_path: Path) -> None:
    """The mistake that once shipped (issue 10 item 7): a yaml parser takes it, Compose does not."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n  db:\n    image: qdrant/qdrant:v1.19.0\n  api:\n    image: askdocs:local\n"
        "    depends_on:\n      db:\n        condition: service_started\n"
        '      ASKDOCS_WORKER__IN_SERVICE: "false"\n',
        encoding="utf-8",
    )
    done = run_compose(broken, "config", "-q")
    assert done.returncode != 0
    assert "depends_on.ASKDOCS_WORKER__IN_SERVICE" in done.stderr, done.stderr


def test_api_queues_jobs_and_the_workers_run_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """As Compose resolves it: the api runs no worker thread, each worker syncs a mounted sources file."""
    services = resolved_compose()["services"]
    workers = [name for name, spec in services.items() if "worker" in [str(w) for w in spec.get("command", [])]]
    assert len(workers) == 2, workers
    for name in ["api", *workers]:
        for key in [key for key in os.environ if key.startswith("ASKDOCS_")]:
            monkeypatch.delenv(key)
        for key, value in environment(services[name]).items():
            monkeypatch.setenv(key, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.worker.in_service is (name != "api"), name
        if name in workers:
            sources = settings.worker.sources_file
            pairs = [str(volume).split(":")[:2] for volume in services[name]["volumes"]]
            mounts = {target: source for source, target in pairs}
            assert sources is not None and str(sources) in mounts, f"{name}: {sources} is not mounted"
            assert Path(mounts[str(sources)]).is_file(), mounts[str(sources)]


def test_every_service_command_is_a_real_askdocs_command() -> None:
    commands = [spec["command"] for spec in compose()["services"].values() if "command" in spec]
    assert len(commands) >= 3, commands
    for command in commands:
        check_argv([str(word) for word in command])


def test_compose_has_qdrant_and_api() -> None:
    assert {"qdrant", "api"} <= set(compose()["services"])


def test_api_waits_for_a_healthy_qdrant() -> None:
    depends_on = service("api")["depends_on"]
    assert isinstance(depends_on, dict), "depends_on needs the long form to name a condition"
    assert depends_on["qdrant"]["condition"] == "service_healthy"
    assert "healthcheck" in service("qdrant"), "service_healthy never happens without a healthcheck"


def test_qdrant_is_pinned_and_checked_without_curl() -> None:
    spec = service("qdrant")
    assert re.fullmatch(r"qdrant/qdrant:v1\.\d+\.\d+", spec["image"]), spec["image"]
    assert "/qdrant/storage" in [str(volume).split(":")[1] for volume in spec["volumes"]]
    argv = healthcheck_argv(spec)
    assert argv[0] in ("bash", "sh") or argv[0].endswith("/bash"), argv
    assert not {"curl", "wget"} & set(" ".join(argv).split()), "the qdrant image has neither curl nor wget"
    assert "/dev/tcp/127.0.0.1/6333" in " ".join(argv)


def test_api_is_built_from_the_dockerfile_and_published_on_8000() -> None:
    spec = service("api")
    build = spec["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert "8000:8000" in [str(p) for p in spec["ports"]]
    assert spec["restart"] == "unless-stopped"
    assert environment(spec)["ASKDOCS_QDRANT__URL"] == "http://qdrant:6333"


def test_api_healthcheck_asks_a_real_readiness_route() -> None:
    command = " ".join(healthcheck_argv(service("api")))
    urls = URL.findall(command)
    assert urls, command
    assert {urlsplit(url).path for url in urls} == {"/ready"}
    assert "/ready" in route_paths()


def test_ingest_sample_runs_a_real_command_on_files_the_image_holds() -> None:
    spec = service("ingest-sample")
    assert spec["profiles"] == ["sample"]
    assert spec["depends_on"]["qdrant"]["condition"] == "service_healthy"
    assert environment(spec)["ASKDOCS_QDRANT__URL"] == environment(service("api"))["ASKDOCS_QDRANT__URL"]
    argv = [str(word) for word in spec["command"]]
    check_argv(argv)
    assert argv[1] == "ingest"
    assert "--if-empty" in argv
    runtime = dockerfile()[-1]
    workdir = instructions(runtime, "WORKDIR")[-1]
    paths = [Path(word) for word in argv[2:] if word.startswith("/")]
    assert paths, argv
    for path in paths:
        inside = path.relative_to(workdir)  # the image holds repo files under its WORKDIR
        copied = {source.rstrip("/") for source in copy_sources(runtime)}
        assert inside.parts[0] in copied, f"{path} is not copied into the image"
        assert any((ROOT / inside).iterdir()), f"{ROOT / inside} is empty or missing"


def test_passthrough_variables_default_to_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing set on the host, the ``${VAR:-}`` defaults must not break or change the settings."""
    for name in [name for name in os.environ if name.startswith("ASKDOCS_")]:
        monkeypatch.delenv(name)
    env = {k: interpolate_unset(v) for k, v in environment(service("api")).items()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.qdrant.url == "http://qdrant:6333"
    assert not settings.llm.enabled, "an unset host LLM config must leave answers extractive"
    assert settings.llm.model == LLMSettings().model
    assert not (settings.admin_token and settings.admin_token.get_secret_value()), "no token unless set"


def test_every_askdocs_variable_is_a_settings_field() -> None:
    names = set()
    for path in (COMPOSE, DOCKERFILE):
        names |= set(ENV_NAME.findall(path.read_text(encoding="utf-8")))
    for spec in compose()["services"].values():
        names |= {k for k in environment(spec) if k.startswith("ASKDOCS_")}
    assert {"ASKDOCS_QDRANT__URL", "ASKDOCS_ADMIN_TOKEN", "ASKDOCS_DATA_DIR"} <= names
    unknown = sorted(name for name in names if settings_field(name) is None)
    assert not unknown, f"not fields of askdocs.settings.Settings: {unknown}"


def test_urls_point_only_at_loopback_or_compose_services() -> None:
    allowed = {"127.0.0.1", "localhost", *compose()["services"]}
    for path in (COMPOSE, DOCKERFILE):
        for url in URL.findall(path.read_text(encoding="utf-8")):
            assert urlsplit(url).hostname in allowed, f"{path.name} names an outside address: {url}"


def test_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for spec in compose()["services"].values():
        for volume in spec.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"volume {source!r} is not declared at the top level"


# --- docker/Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_on_python_311_slim() -> None:
    stages = dockerfile()
    assert len(stages) >= 2
    for stage in stages:
        assert instructions(stage, "FROM")[0].split()[0] == "python:3.11-slim"
    build_stage = instructions(stages[0], "FROM")[0].split()[-1]
    assert any(f"--from={build_stage}" in args for args in instructions(stages[-1], "COPY"))


def test_torch_is_installed_first_at_the_projects_pin_with_an_optional_index() -> None:
    build = dockerfile()[0]
    deps = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    (pin,) = [dep.replace(" ", "") for dep in deps if re.match(r"torch\s*==", dep)]
    assert instructions(build, "ARG").count('TORCH_INDEX_URL=""') == 1
    runs = instructions(build, "RUN")
    torch_run = next(i for i, args in enumerate(runs) if "torch==" in args)
    assert set(re.findall(r"torch==[\w.+]+", runs[torch_run])) == {pin}, "both branches install the project's pin"
    project_run = next(i for i, args in enumerate(runs) if re.search(r"pip install \.(\s|$)", args))
    assert torch_run < project_run
    assert '[ -n "$TORCH_INDEX_URL" ]' in runs[torch_run]
    assert '--extra-index-url "$TORCH_INDEX_URL"' in runs[torch_run]


def test_dockerfile_copies_everything_pip_install_dot_reads() -> None:
    pyproject = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    packages = {pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    readme = pyproject["project"].get("readme")
    needed = {"pyproject.toml", *packages, *([readme] if isinstance(readme, str) else [])}
    copied = {source.rstrip("/") for source in copy_sources(dockerfile()[0])}
    assert needed <= copied, f"not copied before 'pip install .': {sorted(needed - copied)}"


def test_dockerfile_copy_sources_exist_and_are_not_dockerignored() -> None:
    patterns = dockerignore_patterns()
    sources = [source for stage in dockerfile() for source in copy_sources(stage)]
    assert "examples/" in sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
        ignored = [p for p in patterns if fnmatch.fnmatch(source.rstrip("/"), p)]
        assert not ignored, f"COPY {source} is excluded by .dockerignore {ignored}"


def test_dockerignore_keeps_local_state_out() -> None:
    assert {".git", ".venv", "data", "*.egg-info", ".pytest_cache", "**/__pycache__"} <= set(dockerignore_patterns())


def test_runtime_environment_is_set_in_one_place_and_uses_data() -> None:
    """askdocs/runtime.py sets the offline and OpenMP defaults; the image and the Makefile do not repeat them."""
    runtime_env = env_assignments(dockerfile()[-1])
    exported = dict(re.findall(r"^export (\w+) := (\S+)$", MAKEFILE.read_text(encoding="utf-8"), re.MULTILINE))
    assert not set(DEFAULTS) & (set(runtime_env) | set(exported))
    assert {"HF_HUB_OFFLINE", "OMP_WAIT_POLICY"} <= set(DEFAULTS)
    assert runtime_env["ASKDOCS_DATA_DIR"] == "/data"
    assert instructions(dockerfile()[-1], "VOLUME") == ["/data"]


def test_runtime_runs_as_a_non_root_user() -> None:
    users = instructions(dockerfile()[-1], "USER")
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_healthcheck_asks_a_real_liveness_route_on_the_served_port() -> None:
    runtime = dockerfile()[-1]
    (healthcheck,) = instructions(runtime, "HEALTHCHECK")
    assert "curl" not in healthcheck and "urllib" in healthcheck
    argv = exec_form(healthcheck.split(" CMD ", 1)[1])
    assert argv[0] == "python"
    (url,) = URL.findall(" ".join(argv))
    assert urlsplit(url).path == "/health"
    assert "/health" in route_paths()
    (cmd,) = instructions(runtime, "CMD")
    served = exec_form(cmd)
    port = served[served.index("--port") + 1]
    assert str(urlsplit(url).port) == port
    assert instructions(runtime, "EXPOSE") == [port]


def test_default_command_serves_on_all_interfaces() -> None:
    (cmd,) = instructions(dockerfile()[-1], "CMD")
    argv = exec_form(cmd)
    check_argv(argv)
    assert argv[:2] == ["askdocs", "serve"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
