"""The chat fine-tuning format's rules, checked line by line before anything is uploaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finetune.dataset import estimated_tokens

ROLES = ("system", "user", "assistant")
DEFAULT_MAX_TOKENS = 16_384  # per example; OpenAI allows more for some models, open trainers often less


@dataclass(frozen=True, slots=True)
class Fault:
    line: int  # 1-based
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


@dataclass(frozen=True, slots=True)
class FileSummary:
    examples: int
    tokens: int  # estimated
    faults: list[Fault]


def check_line(text: str, max_tokens: int = DEFAULT_MAX_TOKENS) -> str | None:
    """What is wrong with one JSONL line, or None."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg})"
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list) or not data["messages"]:
        return 'needs an object with a non-empty "messages" list'
    for i, message in enumerate(data["messages"], start=1):
        problem = _check_message(message)
        if problem:
            return f"message {i}: {problem}"
    roles = [m["role"] for m in data["messages"]]
    if "assistant" not in roles:
        return "has no assistant message (nothing to learn)"
    if roles[-1] != "assistant":
        return "must end with the assistant's answer"
    tokens = estimated_tokens(data)
    if tokens > max_tokens:
        return f"about {tokens} tokens, over the per-example limit of {max_tokens}"
    return None


def _check_message(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "is not an object"
    if message.get("role") not in ROLES:
        return f"role {message.get('role')!r} is not one of {', '.join(ROLES)}"
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        return "content must be a non-empty string"
    return None


def check_file(path: Path, max_tokens: int = DEFAULT_MAX_TOKENS) -> FileSummary:
    faults, examples, tokens = [], 0, 0
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                faults.append(Fault(number, "is empty"))
                continue
            problem = check_line(text, max_tokens)
            if problem:
                faults.append(Fault(number, problem))
                continue
            examples += 1
            tokens += estimated_tokens(json.loads(text))
    return FileSummary(examples, tokens, faults)


def write_jsonl(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
