"""askdocs core: the vocabulary, settings and infrastructure that ingest, the service and the CLI share.

Imports run one way: ``cli`` -> ``app`` / ``ingest`` -> ``askdocs`` (and ``ingest`` -> ``chunkers``).
Nothing heavy is built at import time.
"""
