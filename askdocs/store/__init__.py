"""The state store: everything askdocs remembers besides vectors (ingest jobs and uploads, web validators, the
interaction log and feedback), in SQLite on a laptop or PostgreSQL when several machines share the work.

One SQLAlchemy Core schema (``schema.py``) for both engines; Alembic migrations (``migrations/``) bring a
database to it on start (``open_store``) or by hand (``askdocs db upgrade``).
"""
