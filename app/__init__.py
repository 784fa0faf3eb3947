"""The HTTP query service (FastAPI). Uses the shared core; never imports ``ingest``."""
