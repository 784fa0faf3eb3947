"""Fine-tuning jobs remembered in the state store (table finetune_jobs): `askdocs finetune status` works anywhere."""

from __future__ import annotations

import time

import sqlalchemy as sa

from askdocs.store.schema import finetune_jobs
from finetune.jobs import JobState


class FinetuneJobs:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def started(
        self, state: JobState, *, base_url: str | None, train: str, validation: str | None, examples: int
    ) -> None:
        now = time.time()
        with self._engine.begin() as db:
            db.execute(
                finetune_jobs.insert().values(
                    job_id=state.job_id,
                    base_url=base_url,
                    base_model=state.model,
                    status=state.status,
                    fine_tuned_model=state.fine_tuned_model,
                    train_file=train,
                    validation_file=validation,
                    examples=examples,
                    created_at=now,
                    updated_at=now,
                )
            )

    def seen(self, state: JobState) -> None:
        with self._engine.begin() as db:
            db.execute(
                finetune_jobs.update()
                .where(finetune_jobs.c.job_id == state.job_id)
                .values(status=state.status, fine_tuned_model=state.fine_tuned_model, updated_at=time.time())
            )

    def recent(self, limit: int = 20) -> list[dict[str, object]]:
        with self._engine.connect() as db:
            rows = db.execute(sa.select(finetune_jobs).order_by(finetune_jobs.c.created_at.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]
