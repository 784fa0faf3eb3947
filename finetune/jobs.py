"""Fine-tuning jobs on any OpenAI-compatible fine-tuning API, through the ``openai`` client.

Only the portable part of the API is used: ``files.create(purpose="fine-tune")``, ``fine_tuning.jobs.create``
(model, training and validation file, suffix, seed), ``retrieve``, ``list_events`` and ``cancel``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai

from askdocs.errors import FineTuneError
from askdocs.settings import Settings

TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class JobState:
    job_id: str
    status: str
    model: str  # the base model
    fine_tuned_model: str | None
    trained_tokens: int | None
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True, slots=True)
class JobEvent:
    event_id: str
    created_at: int
    level: str
    message: str


def make_finetune_client(settings: Settings) -> openai.OpenAI:
    """ASKDOCS_FINETUNE__BASE_URL / __API_KEY, each defaulting to the LLM's."""
    f, llm = settings.finetune, settings.llm
    base_url = f.base_url or llm.base_url
    key = f.api_key or llm.api_key
    if not base_url and key is None:
        raise FineTuneError(
            "no fine-tuning endpoint: set ASKDOCS_FINETUNE__BASE_URL (an OpenAI-compatible API; default: "
            "ASKDOCS_LLM__BASE_URL) and its key ASKDOCS_FINETUNE__API_KEY if it needs one"
        )
    return openai.OpenAI(base_url=base_url, api_key=key.get_secret_value() if key else "unused", max_retries=2)


class FineTuner:
    def __init__(self, client: openai.OpenAI) -> None:
        self._client = client

    def start(
        self, train: Path, validation: Path | None, *, model: str, suffix: str | None = None, seed: int | None = None
    ) -> JobState:
        """Upload the files and create the job."""
        training_file = self._upload(train)
        validation_file = self._upload(validation) if validation and validation.stat().st_size else None
        args: dict[str, Any] = {"model": model, "training_file": training_file}
        if validation_file:
            args["validation_file"] = validation_file
        if suffix:
            args["suffix"] = suffix
        if seed is not None:
            args["seed"] = seed
        return _state(self._call("create the fine-tuning job", self._client.fine_tuning.jobs.create, **args))

    def state(self, job_id: str) -> JobState:
        return _state(self._call(f"read job {job_id}", self._client.fine_tuning.jobs.retrieve, job_id))

    def events(self, job_id: str, limit: int = 100) -> list[JobEvent]:
        """The job's events, oldest first."""
        page = self._call(f"read job {job_id}'s events", self._client.fine_tuning.jobs.list_events, job_id, limit=limit)
        events = [JobEvent(e.id, int(e.created_at), str(e.level), e.message) for e in page.data]
        return sorted(events, key=lambda e: (e.created_at, e.event_id))

    def cancel(self, job_id: str) -> JobState:
        return _state(self._call(f"cancel job {job_id}", self._client.fine_tuning.jobs.cancel, job_id))

    def follow(
        self,
        job_id: str,
        on_event: Callable[[JobEvent], None],
        *,
        poll_s: float = 10.0,
        timeout_s: float | None = None,
    ) -> JobState:
        """Poll until the job ends (or ``timeout_s``), handing each new event to ``on_event`` once."""
        seen: set[str] = set()
        started = time.monotonic()
        while True:
            state = self.state(job_id)
            for event in self.events(job_id):  # read after the state, so the final events are never missed
                if event.event_id not in seen:
                    seen.add(event.event_id)
                    on_event(event)
            if state.finished or (timeout_s is not None and time.monotonic() - started > timeout_s):
                return state
            time.sleep(poll_s)

    def _upload(self, path: Path) -> str:
        with path.open("rb") as data:
            uploaded = self._call(f"upload {path.name}", self._client.files.create, file=data, purpose="fine-tune")
        return str(uploaded.id)

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except openai.NotFoundError as exc:
            raise FineTuneError(
                f"cannot {what}: the endpoint answered 404 (unknown job, or no fine-tuning API)"
            ) from exc
        except openai.APIStatusError as exc:
            raise FineTuneError(f"cannot {what}: the endpoint answered HTTP {exc.status_code}: {exc.message}") from exc
        except openai.APIError as exc:
            raise FineTuneError(f"cannot {what}: {exc.message}") from exc


def _state(job: Any) -> JobState:
    error = getattr(job, "error", None)
    message = getattr(error, "message", None) if error else None
    return JobState(
        str(job.id),
        str(job.status),
        str(job.model),
        job.fine_tuned_model,
        getattr(job, "trained_tokens", None),
        message,
    )
