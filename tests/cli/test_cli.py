"""The command-line contract, run as a user would: ``askdocs`` commands in this process (tests/cli/runner.py), and
the installed executable in subprocesses where the process itself is what is tested: its exit codes and messages,
the parse limits of its child parser, and the commands sent to an ``askdocs serve`` that holds the index."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.runner import ASKDOCS, clean_env, run, run_installed
from tests.conftest import BAD, HANDBOOK
from tests.servers import free_port


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(ASKDOCS_DATA_DIR=str(tmp_path / "data"))


@pytest.mark.store  # ask logs its answers
def test_ingest_ask_list_delete(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    shutil.copytree(HANDBOOK, folder)
    shutil.copy(BAD / "corrupt.pdf", folder / "corrupt.pdf")

    first = run(env, "ingest", str(folder), str(tmp_path / "missing.pdf"))
    assert first.returncode == 1, first.stderr
    assert "documents ingested  │ 7" in first.stdout and "failed              │ 2" in first.stdout
    assert "corrupt.pdf: corrupt or truncated PDF" in first.stderr
    assert "missing.pdf: no such file or folder" in first.stderr

    second = run(env, "ingest", str(folder / "leave.html"))
    assert second.returncode == 0 and "skipped (unchanged) │ 1" in second.stdout

    answer = json.loads(run(env, "ask", "--json", "How many vacation days do I get?").stdout)
    assert "25" in answer["answer"] and answer["sources"][0]["url_or_path"].endswith("leave.html")
    assert answer["mode"] == "extractive" and set(answer["timings_ms"]) == {
        "embed",
        "search",
        "generate",
        "total",
    }

    printed = run(env, "ask", "How many vacation days do I get?")
    assert printed.returncode == 0 and "Sources" in printed.stdout and "leave.html" in printed.stdout

    logged = run(env, "log", "list")  # both answers are in the interaction log, newest first
    assert logged.returncode == 0 and logged.stdout.count("How many vacation days do I get?") == 2
    assert answer["interaction_id"] in logged.stdout and " cli " in logged.stdout
    shown = json.loads(run(env, "log", "show", answer["interaction_id"]).stdout)
    assert shown["answer"] == answer["answer"] and shown["channel"] == "cli" and shown["feedback"] is None

    docs = json.loads(run(env, "docs", "list", "--json").stdout)
    assert len(docs) == 7 and set(docs[0]) == {
        "doc_id",
        "source",
        "title",
        "chunks",
        "ingested_at",
        "chunker",
        "origin",
    }
    leave = next(d for d in docs if d["source"].endswith("leave.html"))
    assert run(env, "docs", "delete", leave["doc_id"]).returncode == 0
    assert len(json.loads(run(env, "docs", "list", "--json").stdout)) == 6
    gone = run(env, "docs", "delete", leave["doc_id"])
    assert gone.returncode == 2 and "no document with id" in gone.stderr


@pytest.mark.slow
def test_a_document_over_the_parse_time_limit_is_reported_and_the_run_goes_on(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(BAD / "good.md", folder / "a-good.md")
    paragraph = "<p>The quarterly figures were reviewed by the board.</p>"
    (folder / "b-huge.html").write_text(f"<html><body>{paragraph * 1_000_000}</body></html>")  # minutes to parse
    shutil.copy(HANDBOOK / "leave.html", folder / "c-leave.html")
    limits = {"ASKDOCS_INGEST__PARSE_TIMEOUT_S": "5", "ASKDOCS_INGEST__PARSE_TIMEOUT_PER_MB_S": "0"}  # others: < 1 s
    done = run_installed(env | limits, "ingest", str(folder))
    assert done.returncode == 1, done.stderr
    assert "b-huge.html: parsing took longer than 5 s, and longer than 15 s (3 times the budget) on a second try" in (
        done.stderr
    )
    assert "documents ingested  │ 2" in done.stdout and "failed              │ 1" in done.stdout


def test_if_empty_skips_a_filled_index(env: dict[str, str]) -> None:
    assert run(env, "ingest", "--if-empty", str(BAD / "good.md")).returncode == 0
    again = run(env, "ingest", "--if-empty", str(BAD / "good.txt"))
    assert again.returncode == 0 and "nothing to do (--if-empty)" in again.stdout
    assert len(json.loads(run(env, "docs", "list", "--json").stdout)) == 1


def test_user_errors_are_one_clear_line(env: dict[str, str]) -> None:
    """The first through the installed executable (its exit code and stderr as a shell sees them), the others in
    this process, where an exception would surface with its traceback rather than as a clean exit."""
    unknown = run_installed(env, "ingest", "--chunker", "magic", str(BAD / "good.md"))
    assert unknown.returncode == 2
    assert "unknown chunker 'magic'; available: " in unknown.stderr and "Traceback" not in unknown.stderr
    bad_setting = run(env | {"ASKDOCS_RETRIEVAL__TOP_K": "many"}, "docs", "list")
    assert bad_setting.returncode == 2 and "ASKDOCS_RETRIEVAL__TOP_K" in bad_setting.stderr
    empty = run(env, "ask", "   ")
    assert empty.returncode == 2 and "question is empty" in empty.stderr


@pytest.mark.store  # the job queue
def test_worker_once_syncs_the_sources_file_and_reports_each_job(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("leave.html", "oncall.html"):
        shutil.copy(HANDBOOK / name, folder / name)
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - name: corpus\n    folder: {folder}\n")
    first = run(env, "worker", "--once", "--sources", str(sources))
    assert first.returncode == 0, first.stderr
    assert "sources: corpus" in first.stderr and "done sync corpus: 2 new" in first.stderr
    (folder / "oncall.html").unlink()
    again = run(env, "worker", "--once", "--sources", str(sources))
    assert again.returncode == 0 and "done sync corpus: 1 unchanged, 1 removed" in again.stderr, again.stderr
    assert [d["source"] for d in json.loads(run(env, "docs", "list", "--json").stdout)] == [str(folder / "leave.html")]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, module_store_url: str) -> Iterator[tuple[dict[str, str], str]]:
    """A real ``askdocs serve`` process holding an index of the leave page, shared by the module's tests (they
    only add documents it does not hold, or are refused)."""
    folder = tmp_path_factory.mktemp("served")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(ASKDOCS_DATA_DIR=str(folder / "data"), ASKDOCS_DATABASE__URL=module_store_url)
    env |= {"ASKDOCS_ADMIN_TOKEN": "tok", "ASKDOCS_SERVICE__URL": url}
    assert run(env, "ingest", str(HANDBOOK / "leave.html")).returncode == 0
    with (folder / "serve.log").open("w+") as log:
        proc = subprocess.Popen([ASKDOCS, "serve", "--port", str(port)], env=env, stdout=log, stderr=log, text=True)
        try:
            deadline = time.monotonic() + 120
            while not _ready(url):
                assert proc.poll() is None and time.monotonic() < deadline, (folder / "serve.log").read_text()
                time.sleep(0.1)
            yield env, url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.store
def test_commands_go_through_the_service_that_holds_the_index(service: tuple[dict[str, str], str]) -> None:
    env, _ = service
    sent = run(env, "ingest", str(HANDBOOK / "security.html"), str(BAD / "scanned.pdf"))
    assert "sending the documents there" in sent.stdout
    assert sent.returncode == 1 and "scanned.pdf: PDF has 1 page(s) but no text layer" in sent.stderr
    docs = json.loads(run(env, "docs", "list", "--json").stdout)
    security = [d for d in docs if d["source"] == str(HANDBOOK / "security.html")]
    assert len(docs) == 2 and security, docs  # the path is the identity, as with a direct ingest
    answer = json.loads(run(env, "ask", "--json", "What is the minimum password length?").stdout)
    assert answer["sources"][0]["url_or_path"].endswith("security.html")


@pytest.mark.store
def test_without_the_token_the_lock_is_explained(service: tuple[dict[str, str], str]) -> None:
    env, _ = service
    env = {k: v for k, v in env.items() if k != "ASKDOCS_ADMIN_TOKEN"}
    result = run(env, "ingest", str(HANDBOOK / "oncall.html"))
    assert result.returncode == 2
    assert "in use by another askdocs process" in result.stderr and "ASKDOCS_ADMIN_TOKEN" in result.stderr


@pytest.mark.store
def test_a_locked_index_without_the_service_at_its_url_says_where_it_looked(
    service: tuple[dict[str, str], str],
) -> None:
    env, _ = service
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = run(env | {"ASKDOCS_SERVICE__URL": nowhere}, "ask", "How many vacation days do I get?")
    assert result.returncode == 2 and "in use by another askdocs process" in result.stderr
    assert f"No askdocs service answered at {nowhere}: ASKDOCS_SERVICE__URL" in result.stderr
