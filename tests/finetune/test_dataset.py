"""Fine-tuning data and jobs: the chat JSONL export's rules, and a job's round trip through the real ``openai``
client against a stand-in OpenAI-compatible fine-tuning API on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from askdocs.errors import FineTuneError, InputError
from askdocs.qa.llm import SYSTEM_PROMPT
from finetune.dataset import Example, build_split, chat_example
from finetune.jobs import FineTuner
from finetune.validate import check_file, check_line, write_jsonl
from tests.servers import FakeFineTuning, serve

CONTEXT = "[1] Leave policy — Annual leave\nEvery employee gets 25 vacation days per calendar year."


def example(i: int, answer: str = "You get 25 vacation days [1].", question: str = "") -> Example:
    return Example(f"i{i}", question or f"How many vacation days do I get, case {i}?", CONTEXT, answer)


def test_both_formats_are_what_the_service_sends() -> None:
    template = chat_example(example(1), "template")["messages"]
    assert template == [
        {
            "role": "user",
            "content": f"Question: How many vacation days do I get, case 1?\n\nContext: <documents>\n{CONTEXT}\n"
            "</documents>",
        },
        {"role": "assistant", "content": "You get 25 vacation days [1]."},
    ]
    instructions = chat_example(example(1), "instructions")["messages"]
    assert [m["role"] for m in instructions] == ["system", "user", "assistant"]
    assert instructions[0]["content"] == SYSTEM_PROMPT and CONTEXT in instructions[1]["content"]
    with pytest.raises(InputError, match="unknown format 'chatml'; available: instructions, template"):
        chat_example(example(1), "chatml")  # type: ignore[arg-type]


def test_duplicates_go_the_idk_share_is_capped_and_no_question_is_on_both_sides() -> None:
    answers = [example(i) for i in range(20)]
    repeated = [example(3), example(3, question="how many VACATION days do I get, case 3")]  # same, other case
    idk = [example(100 + i, "I do not know.") for i in range(10)]
    split = build_split(answers + repeated + idk, "template", val_fraction=0.2, idk_share=0.1)
    assert split.duplicates == 2
    assert split.idk_kept == 2 and split.idk_dropped == 8  # 2 of 22 kept examples ~ 0.1
    assert split.examples == 22
    questions = [
        {m["content"].split("\n\n")[0] for m in line["messages"] if m["role"] == "user"}
        for line in split.train + split.validation
    ]
    train = set().union(*questions[: len(split.train)])
    validation = set().union(*questions[len(split.train) :])
    assert validation and train and not train & validation


def test_fewer_than_ten_usable_examples_is_a_clear_error() -> None:
    with pytest.raises(InputError, match=r"only 9 usable examples \(of 11 logged answers: 2 duplicates"):
        build_split([example(i) for i in range(9)] + [example(0), example(1)], "template")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not JSON"),
        ('{"messages": []}', 'needs an object with a non-empty "messages" list'),
        ('{"messages": [{"role": "robot", "content": "x"}]}', "message 1: role 'robot' is not one of"),
        ('{"messages": [{"role": "user", "content": "  "}]}', "message 1: content must be a non-empty string"),
        ('{"messages": [{"role": "user", "content": "q"}]}', "has no assistant message"),
        (
            '{"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]}',
            "must end with the assistant's answer",
        ),
        (
            json.dumps({"messages": [{"role": "user", "content": "w " * 5000}, {"role": "assistant", "content": "a"}]}),
            "over the per-example limit of 1000",
        ),
    ],
)
def test_each_malformed_line_is_refused_with_its_reason(line: str, problem: str) -> None:
    assert problem in (check_line(line, max_tokens=1000) or "")


def test_a_file_reports_faults_by_line_number(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    write_jsonl(path, [chat_example(example(i), "template") for i in range(3)])
    with path.open("a") as out:
        out.write('{"messages": [{"role": "user", "content": "q"}]}\n\n')
    summary = check_file(path)
    assert summary.examples == 3 and summary.tokens > 0
    assert [str(f) for f in summary.faults] == [
        "line 4: has no assistant message (nothing to learn)",
        "line 5: is empty",
    ]


@pytest.fixture
def stand_in() -> Iterator[tuple[FakeFineTuning, str]]:
    fake = FakeFineTuning()
    with serve(fake.app()) as url:
        yield fake, f"{url}/v1"


def test_a_job_round_trips_to_a_fine_tuned_model(stand_in: tuple[FakeFineTuning, str], tmp_path: Path) -> None:
    fake, base_url = stand_in
    split = build_split([example(i) for i in range(12)], "template", val_fraction=0.2)
    write_jsonl(tmp_path / "train.jsonl", split.train)
    write_jsonl(tmp_path / "validation.jsonl", split.validation)
    tuner = FineTuner(openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0))
    job = tuner.start(
        tmp_path / "train.jsonl", tmp_path / "validation.jsonl", model="base-model", suffix="askdocs", seed=7
    )
    assert job.status == "validating_files" and not job.finished
    assert fake.created == [
        {"model": "base-model", "training_file": "file-1", "validation_file": "file-2", "suffix": "askdocs", "seed": 7}
    ]
    assert fake.files["file-1"].decode().count("\n") == len(split.train)
    seen: list[str] = []
    final = tuner.follow(job.job_id, lambda e: seen.append(e.message), poll_s=0.01, timeout_s=30)
    assert final.status == "succeeded" and final.fine_tuned_model == f"ft:base-model:askdocs:{job.job_id}"
    assert seen == ["status: validating_files", "status: queued", "status: running", "status: succeeded"]


def test_unknown_jobs_and_cancels(stand_in: tuple[FakeFineTuning, str]) -> None:
    _, base_url = stand_in
    tuner = FineTuner(openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0))
    with pytest.raises(FineTuneError, match="cannot read job ftjob-9: the endpoint answered 404"):
        tuner.state("ftjob-9")
