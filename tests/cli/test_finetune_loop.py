"""The fine-tuning loop end to end, as an operator runs it: answers logged and rated through the API, exported
and validated by `askdocs finetune export`, a job started and followed by `askdocs finetune start` against a
stand-in OpenAI-compatible fine-tuning API on 127.0.0.1, then the service switched to the fine-tuned model, whose
prompt is the short template."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.cli.runner import run as askdocs
from tests.servers import FakeFineTuning, serve

pytestmark = pytest.mark.store  # the interaction log and fine-tuning jobs live in the store


def service(handbook_dir: Path, embedder: SentenceTransformerEmbedder, base_url: str, **llm: object) -> Any:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=handbook_dir,
        _env_file=None,
        llm={"base_url": base_url, "api_key": "sk-test", "model": "base-chat", "max_retries": 0, **llm},
    )
    return container_for(settings, embedder)


@pytest.mark.timeout(900)
def test_log_rate_export_start_switch(
    handbook_dir: Path,
    embedder: SentenceTransformerEmbedder,
    handbook_questions: list[dict[str, Any]],
    database_url: str,
    tmp_path: Path,
) -> None:
    fake = FakeFineTuning()
    with serve(fake.app()) as url:
        base_url = f"{url}/v1"
        # 30 answers from the prompted model, rated: most helpful, two corrected, two not helpful.
        questions = [q["question"] for q in handbook_questions[:30]]
        fake.chat.replies = [f"From the handbook: answer {i} [1]." for i in range(30)]
        container = service(handbook_dir, embedder, base_url)
        with TestClient(create_app(container)) as client:
            for i, question in enumerate(questions):
                asked = client.post("/ask", json={"question": question}).json()
                assert asked["mode"] == "prompted" and asked["interaction_id"]
                rating: dict[str, Any] = {"interaction_id": asked["interaction_id"], "rating": "helpful"}
                if i in (3, 4):
                    rating |= {"rating": "not_helpful", "corrected_answer": f"Corrected answer {i} [1]."}
                elif i in (5, 6):
                    rating["rating"] = "not_helpful"
                assert client.post("/feedback", json=rating).status_code == 200
        container.close()
        assert len(fake.chat.requests) == 30

        env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_")} | {
            "ASKDOCS_DATA_DIR": str(handbook_dir),
            "ASKDOCS_DATABASE__URL": database_url,
            "ASKDOCS_FINETUNE__BASE_URL": base_url,
            "ASKDOCS_FINETUNE__API_KEY": "sk-test",
        }
        out = tmp_path / "ft"
        exported = askdocs(env, "finetune", "export", "--out", str(out), "--format", "template")
        assert exported.returncode == 0, exported.stderr
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["rated"] == 30 and manifest["train"] + manifest["validation"] == 28  # 2 not helpful left out
        lines = [json.loads(x) for name in ("train.jsonl", "validation.jsonl") for x in (out / name).open()]
        answers = {line["messages"][-1]["content"] for line in lines}
        assert "Corrected answer 3 [1]." in answers and "From the handbook: answer 3 [1]." not in answers
        assert all([m["role"] for m in line["messages"]] == ["user", "assistant"] for line in lines)
        assert all(line["messages"][0]["content"].startswith("Question: ") for line in lines)

        started = askdocs(env, "finetune", "start", "--dir", str(out), "--suffix", "hb", "--poll-s", "0.05")
        assert started.returncode == 0, started.stderr
        [job] = fake.created
        model = f"ft:{job['model']}:hb:ftjob-1"
        assert f"ASKDOCS_LLM__MODE=finetuned ASKDOCS_LLM__FINETUNED_MODEL={model}" in started.stdout
        assert fake.files["file-1"].decode().count("\n") == manifest["train"]
        listed = askdocs(env, "finetune", "status")
        assert listed.returncode == 0 and "ftjob-1" in listed.stdout and "succeeded" in listed.stdout

        # The service switched to the fine-tuned model: one short user message, no instructions.
        fake.chat.replies = ["You get 25 vacation days [1]."]
        container = service(handbook_dir, embedder, base_url, mode="finetuned", finetuned_model=model)
        with TestClient(create_app(container)) as client:
            body = client.post("/ask", json={"question": "How many vacation days do I get?"}).json()
        container.close()
        request = fake.chat.requests[-1]
        assert body["mode"] == "finetuned" and request["model"] == model
        [message] = request["messages"]
        assert message["role"] == "user" and message["content"].startswith("Question: How many vacation days")
        assert "\n\nContext: <documents>\n[1] " in message["content"]

        # Proven on the same questions: the logged, rated ones, in both modes, side by side.
        fake.chat.replies = [f"Again answer {i} [1]." for i in range(56)]
        env |= {
            "ASKDOCS_LLM__BASE_URL": base_url,
            "ASKDOCS_LLM__API_KEY": "sk-test",
            "ASKDOCS_LLM__MODEL": "base-chat",
            "ASKDOCS_LLM__FINETUNED_MODEL": model,
        }
        before = len(fake.chat.requests)
        compared = askdocs(env, "eval", "answers", "--from-log", "--compare", "prompted,finetuned", "--out", str(out))
        assert compared.returncode == 0, compared.stderr
        report = json.loads((out / "answers-log.json").read_text())
        assert [r["mode"] for r in report["results"]] == ["prompted", "finetuned"]
        assert all(r["metrics"]["questions"] == 28 for r in report["results"])
        assert (out / "answers-log.png").read_bytes()[:4] == b"\x89PNG"
        sent = fake.chat.requests[before:]
        size = {
            m: sum(len(json.dumps(r["messages"])) for r in sent if (r["model"] == model) == (m == "ft"))
            for m in ("ft", "base")
        }
        assert len(sent) == 56 and size["ft"] < size["base"]  # the short template sends less for the same questions


def test_too_few_examples_is_a_clear_error(database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_")} | {
        "ASKDOCS_DATA_DIR": str(tmp_path / "data"),
        "ASKDOCS_DATABASE__URL": database_url,
    }
    done = askdocs(env, "finetune", "export", "--out", str(tmp_path / "ft"))
    assert done.returncode == 2
    assert "only 0 usable examples (of 0 logged answers" in done.stderr and "at least 10" in done.stderr
