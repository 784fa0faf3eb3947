"""The deployment files against the code they deploy: docker/Dockerfile, .dockerignore, and both compose files
(docker-compose.yml: one machine; docker/cluster.compose.yml: the cluster, whose own topology and proxy are checked
in tests/test_deploy_cluster.py).

Every compose file goes through a real Compose validator (Debian's ``docker-compose``); the files are parsed and
checked against the settings tree, the CLI, the HTTP routes and the repository's layout, so that a renamed setting,
command or endpoint breaks a test, not a deployment. Helpers: tests/deploy.py.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import yaml

from askdocs.runtime import DEFAULTS
from askdocs.settings import LLMSettings, Settings
from tests.deploy import (
    CLUSTER,
    COMPOSE,
    DOCKERFILE,
    MAKEFILE,
    PYPROJECT,
    ROOT,
    TEST_PASSWORD,
    URL,
    askdocs_services,
    check_argv,
    compose_files,
    copy_sources,
    dockerfile,
    dockerfile_stages,
    dockerignore_patterns,
    env_assignments,
    environment,
    exec_form,
    healthcheck_argv,
    instructions,
    raw,
    resolved,
    route_paths,
    run_compose,
    service,
    settings_field,
    unknown_settings,
    volume_pairs,
)
from tests.qdrant import VERSION as QDRANT_VERSION

BOTH = [COMPOSE, CLUSTER]
both = pytest.mark.parametrize("path", BOTH, ids=lambda p: str(p.relative_to(ROOT)))


def settings_of(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a container with this environment (and nothing else of askdocs') would run with."""
    for key in [key for key in os.environ if key.startswith("ASKDOCS_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


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


def test_check_argv_knows_subcommands_and_their_options() -> None:
    check_argv(["askdocs", "db", "upgrade"])
    for wrong in (["askdocs", "db", "upgrad"], ["askdocs", "db", "upgrade", "--to"], ["askdocs", "wroker"]):
        with pytest.raises(AssertionError):
            check_argv(wrong)


def test_dockerfile_parser_joins_continuations_and_splits_stages() -> None:
    text = '# c\nFROM a AS one\nRUN x \\\n    # inner\n    && y\nFROM b\nCMD ["z"]\n'
    assert dockerfile_stages(text) == [[("FROM", "a AS one"), ("RUN", "x && y")], [("FROM", "b"), ("CMD", '["z"]')]]


# --- both compose files ------------------------------------------------------------------------------------


def test_the_repository_has_both_compose_files_to_validate() -> None:
    assert set(BOTH) <= set(compose_files())


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


@both
def test_without_the_database_password_postgresql_gets_an_empty_one_never_a_default(path: Path) -> None:
    """The file validates as it stands (nothing set); PostgreSQL's image then refuses to make its database with an
    empty password, so the stack does not start without one, and askdocs' URL carries none."""
    done = run_compose(path, "config", env={})
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(done.stdout)
    (db,) = [spec for spec in data["services"].values() if str(spec["image"]).startswith("postgres:")]
    assert environment(db)["POSTGRES_PASSWORD"] == ""
    for name, spec in askdocs_services(data).items():
        assert not sa.make_url(environment(spec)["ASKDOCS_DATABASE__URL"]).password, name


@both
def test_every_askdocs_container_keeps_its_state_in_postgresql_not_in_a_shared_file(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Compose resolves it: one PostgreSQL URL for all, whose user, database and password are the server's."""
    data = resolved(path)
    (db_name,) = [name for name, spec in data["services"].items() if str(spec["image"]).startswith("postgres:")]
    db_env = environment(data["services"][db_name])
    assert db_env["POSTGRES_PASSWORD"] == TEST_PASSWORD
    for name, spec in askdocs_services(data).items():
        settings = settings_of(environment(spec), monkeypatch)
        url = sa.make_url(str(settings.database.url))
        assert url.drivername == "postgresql+psycopg", f"{name}: {url}"
        assert (url.host, url.port, url.username, url.password, url.database) == (
            db_name,
            5432,
            db_env["POSTGRES_USER"],
            TEST_PASSWORD,
            db_env["POSTGRES_DB"],
        ), name
        targets = [target for _, target in volume_pairs(spec)]
        assert not [t for t in targets if t == "/data" or ".sqlite" in t], f"{name} mounts state: {targets}"


@both
def test_postgres_is_pinned_kept_on_a_volume_checked_and_not_published(path: Path) -> None:
    spec = service("postgres", path)
    assert re.fullmatch(r"postgres:\d+\.\d+", spec["image"]), spec["image"]
    assert ("postgres-data", "/var/lib/postgresql/data") in volume_pairs(spec)
    assert "ports" not in spec
    argv = healthcheck_argv(spec)
    env = environment(spec)
    assert argv[0] == "pg_isready"
    assert argv[argv.index("--username") + 1] == env["POSTGRES_USER"]
    assert argv[argv.index("--dbname") + 1] == env["POSTGRES_DB"]


@both
def test_askdocs_starts_after_the_store_is_healthy_and_migrated_once(path: Path) -> None:
    services = askdocs_services(raw(path))
    migrate = services.pop("migrate")
    check_argv([str(word) for word in migrate["command"]])
    assert migrate["command"][1:] == ["db", "upgrade"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, spec in services.items():
        depends = spec["depends_on"]
        if name == "slack":  # the bot only needs a running API, which needs all of this
            continue
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name


@both
def test_api_queues_jobs_and_the_workers_run_them(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As Compose resolves it: an API runs no worker thread; each worker syncs a mounted sources file, its own
    shard of them, under its own name."""
    services = askdocs_services(resolved(path))
    workers = {name: spec for name, spec in services.items() if spec.get("command", [None, None])[1] == "worker"}
    apis = [name for name, spec in services.items() if "command" not in spec]  # the image's CMD: askdocs serve
    assert len(workers) >= 2 and apis, (workers, apis)
    shards, ids = set(), set()
    for name, spec in services.items():
        if name not in apis and name not in workers:
            continue
        settings = settings_of(environment(spec), monkeypatch)
        assert settings.worker.in_service is (name not in apis), name
        if name in workers:
            sources = settings.worker.sources_file
            mounts = {target: source for source, target in volume_pairs(spec)}
            assert sources is not None and str(sources) in mounts, f"{name}: {sources} is not mounted"
            assert Path(mounts[str(sources)]).is_file(), mounts[str(sources)]
            argv = [str(word) for word in spec["command"]]
            shards.add(argv[argv.index("--shard") + 1])
            ids.add(argv[argv.index("--id") + 1])
    assert shards == {f"{i}/{len(workers)}" for i in range(len(workers))}, shards
    assert len(ids) == len(workers)


@both
def test_every_askdocs_command_is_a_real_askdocs_command(path: Path) -> None:
    commands = [spec["command"] for spec in askdocs_services(raw(path)).values() if "command" in spec]
    assert len(commands) >= 4, commands
    for command in commands:
        check_argv([str(word) for word in command])


@both
def test_qdrant_images_are_official_pinned_and_the_version_the_tests_run(path: Path) -> None:
    """The official image at the version of the binary the server and cluster tests run (tests/qdrant.py)."""
    images = {spec["image"] for spec in resolved(path)["services"].values() if "qdrant" in str(spec["image"])}
    other = {spec["image"] for spec in resolved(COMPOSE)["services"].values() if "qdrant" in str(spec["image"])}
    assert len(images) == 1 and images == other, (images, other)
    assert images.pop() == f"qdrant/qdrant:v{QDRANT_VERSION}"


@both
def test_passthrough_variables_default_to_valid_settings(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing set on the host but the password, the ``${VAR:-}`` defaults must not break or change the
    settings: extractive answers, the default model, no admin token, a Qdrant server."""
    for name, spec in askdocs_services(resolved(path)).items():
        settings = settings_of(environment(spec), monkeypatch)
        assert settings.qdrant.url and urlsplit(settings.qdrant.url).hostname in raw(path)["services"], name
        assert not settings.llm.enabled, "an unset host LLM config must leave answers extractive"
        assert settings.llm.model == LLMSettings().model
        assert not (settings.admin_token and settings.admin_token.get_secret_value()), "no token unless set"


@both
def test_every_askdocs_variable_is_a_settings_field(path: Path) -> None:
    names = set()
    for text_of in (path, DOCKERFILE):
        names |= set(re.findall(r"\bASKDOCS_[A-Z0-9_]*[A-Z0-9]", text_of.read_text(encoding="utf-8")))
    for spec in raw(path)["services"].values():
        names |= {k for k in environment(spec) if k.startswith("ASKDOCS_")}
    assert {"ASKDOCS_QDRANT__URL", "ASKDOCS_DATABASE__URL", "ASKDOCS_DATA_DIR"} <= names
    unknown = unknown_settings(names)
    assert not unknown, f"not fields of askdocs.settings.Settings: {unknown}"


@both
def test_urls_point_only_at_loopback_or_compose_services(path: Path) -> None:
    allowed = {"127.0.0.1", "localhost", *raw(path)["services"]}
    for text_of in (path, DOCKERFILE):
        for url in URL.findall(text_of.read_text(encoding="utf-8")):
            assert urlsplit(url).hostname in allowed, f"{text_of.name} names an outside address: {url}"


@both
def test_named_volumes_are_declared(path: Path) -> None:
    declared = set(raw(path).get("volumes") or {})
    for spec in raw(path)["services"].values():
        for source, _ in volume_pairs(spec):
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"volume {source!r} is not declared at the top level"


@both
def test_the_optional_slack_and_llm_profiles(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot asks the API where Compose serves it, with the bot's tokens; the LLM is a pinned image."""
    services = resolved(path)["services"]
    slack, llm = services["slack"], services["llm"]
    assert slack["profiles"] == ["slack"] and llm["profiles"] == ["llm"]
    assert [str(w) for w in slack["command"]] == ["askdocs", "slack"]
    url = urlsplit(settings_of(environment(slack), monkeypatch).service.url)
    target = services[str(url.hostname)]
    published = {str(p.get("target")) for p in target.get("ports", [])} | {str(e) for e in target.get("expose", [])}
    assert str(url.port) in published, (url, published)
    assert {"ASKDOCS_SLACK__BOT_TOKEN", "ASKDOCS_SLACK__APP_TOKEN"} <= set(environment(slack))
    assert re.fullmatch(r"ghcr\.io/ggml-org/llama\.cpp:server-b\d+", llm["image"]), llm["image"]
    assert "ports" not in llm, "the LLM is for askdocs, on the compose network only"


# --- docker-compose.yml: one machine -----------------------------------------------------------------------


def test_compose_has_qdrant_postgres_and_api() -> None:
    assert {"qdrant", "postgres", "api"} <= set(raw(COMPOSE)["services"])


def test_api_waits_for_a_healthy_qdrant() -> None:
    depends_on = service("api")["depends_on"]
    assert isinstance(depends_on, dict), "depends_on needs the long form to name a condition"
    assert depends_on["qdrant"]["condition"] == "service_healthy"
    assert "healthcheck" in service("qdrant"), "service_healthy never happens without a healthcheck"


def test_qdrant_is_kept_on_a_volume_and_checked_without_curl() -> None:
    spec = service("qdrant")
    assert "/qdrant/storage" in [target for _, target in volume_pairs(spec)]
    argv = healthcheck_argv(spec)
    assert argv[0] in ("bash", "sh") or argv[0].endswith("/bash"), argv
    assert not {"curl", "wget"} & set(" ".join(argv).split()), "the qdrant image has neither curl nor wget"
    assert "/dev/tcp/127.0.0.1/6333" in " ".join(argv) and "/readyz" in " ".join(argv)


def test_api_is_built_from_the_dockerfile_and_published_on_8000() -> None:
    spec: dict[str, Any] = service("api")
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
    assert {".git", ".venv", "data", "*.egg-info", ".pytest_cache", "**/__pycache__", ".env"} <= set(
        dockerignore_patterns()
    )


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
