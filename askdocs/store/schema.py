"""The tables, in SQLAlchemy Core. A change here goes with a new migration in ``migrations/versions``."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("job_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("key", sa.String(512)),
    sa.Column("source", sa.String(512)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("worker", sa.String(256)),
    sa.Column("lease_until", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
    sa.Index("jobs_runnable", "status", "seq"),
    sa.Index("jobs_key_finished", "key", "finished_at"),
)

# An uploaded file's bytes, kept until its job has run, so that a worker on any machine can read them.
uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("upload_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(1024), nullable=False),
    sa.Column("content_type", sa.String(256)),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

validators = sa.Table(
    "validators",
    metadata,
    sa.Column("key", sa.String(2048), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

interactions = sa.Table(
    "interactions",
    metadata,
    sa.Column("interaction_id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("channel", sa.String(16), nullable=False),  # api | stream | cli | slack
    sa.Column("asked_by", sa.String(256)),  # the key's name, or the person a frontend vouches for
    sa.Column("question", sa.Text),  # as asked; NULL when redacted
    sa.Column("question_hash", sa.String(64), nullable=False),
    sa.Column("sanitized", sa.Text),  # NULL when redacted
    sa.Column("signals", sa.JSON, nullable=False),
    sa.Column("retrieval", sa.String(16), nullable=False),
    sa.Column("hits", sa.JSON, nullable=False),  # [{point_id, doc_id, score, relevance, rank}]
    sa.Column("context", sa.Text, nullable=False),  # the numbered passages the model saw
    sa.Column("prompt", sa.Text, nullable=False),  # the exact text sent to the model
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("idk", sa.Boolean, nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("prompt_tokens", sa.Integer, nullable=False),
    sa.Column("completion_tokens", sa.Integer, nullable=False),
    sa.Column("timings", sa.JSON, nullable=False),  # ms per stage
    sa.Column("degraded", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("cited", sa.JSON, nullable=False),  # point ids of the passages the answer cites
    sa.Column("request_id", sa.String(64)),
    # who asked, kind and name ("key:NAME", "user:NAME", "person:FRONTEND:NAME"): /me/questions' filter; NULL when
    # anonymous, from the in-service Slack bot, or logged before 0006
    sa.Column("asker", sa.String(600)),
    sa.Index("ix_interactions_asker_created_at", "asker", "created_at"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column(
        "interaction_id",
        sa.String(32),
        sa.ForeignKey("interactions.interaction_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("rating", sa.String(16), nullable=False),  # helpful | not_helpful
    sa.Column("comment", sa.Text),
    sa.Column("corrected_answer", sa.Text),
    sa.Column("rated_by", sa.String(256)),
    sa.Column("created_at", sa.Float, nullable=False),
)

finetune_jobs = sa.Table(
    "finetune_jobs",
    metadata,
    sa.Column("job_id", sa.String(128), primary_key=True),
    sa.Column("base_url", sa.String(1024)),
    sa.Column("base_model", sa.String(256), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("fine_tuned_model", sa.String(256)),
    sa.Column("train_file", sa.String(1024), nullable=False),
    sa.Column("validation_file", sa.String(1024)),
    sa.Column("examples", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("prefix", sa.String(16), nullable=False, unique=True),  # shown by `keys list`, never the key
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # SHA-256 of the whole key
    sa.Column("scope", sa.String(16), nullable=False),  # ask | admin | frontend
    sa.Column("groups", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
)

# The Slack bot's memory (slackbot.memory): events handled, so that a retry is answered once by any replica,
# and the threads it answered in, followed without a new mention.
slack_events = sa.Table(
    "slack_events",
    metadata,
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("seen_at", sa.Float, nullable=False, index=True),
)

slack_threads = sa.Table(
    "slack_threads",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("thread_ts", sa.String(64), primary_key=True),
    sa.Column("answered_at", sa.Float, nullable=False, index=True),
)

# The rate limit's counts (app/limits.py): requests per key in each window of ``period_s`` seconds, shared by every
# replica on the store. A row is kept until the window after next starts (the limit weighs the previous window),
# then pruned.
rate_counts = sa.Table(
    "rate_counts",
    metadata,
    sa.Column("key", sa.String(256), primary_key=True),  # key:<name>, person:<key>:<person>, address:<ip>, ...
    sa.Column("period_s", sa.Integer, primary_key=True),
    sa.Column("window_no", sa.BigInteger, primary_key=True),  # the window's start time // period_s
    sa.Column("hits", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)
