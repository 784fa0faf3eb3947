"""The project's exception tree. Library errors are translated where the library is called.

AskdocsError
├── ConfigError            a setting is missing or contradicts another (names the variable)
├── InputError             a user-supplied value is wrong (question, filter, path, chunker name)
│   └── UnknownNameError   a registry was asked for a name it does not have
├── LoadError              one document could not be loaded (corrupt PDF, 404, unsupported type)
├── VectorIndexError       the vector index failed
│   ├── IndexLockedError   the embedded index directory is held by another process
│   ├── DiskSpaceError     the disk holding the embedded index has too little free space to write safely
│   ├── DimensionMismatchError  stored vectors and the model disagree on dimension
│   └── ModelMismatchError      the vectors were made by another embedding model than the configured one
├── StoreError             the state store (SQLite or PostgreSQL) failed or cannot be reached
├── ServiceError           a running askdocs service could not be reached, or refused a request (``status``)
├── GenerationError        the LLM endpoint failed after retries
└── FineTuneError          the fine-tuning endpoint refused or failed a request
"""

from __future__ import annotations


class AskdocsError(Exception):
    """Base of every error askdocs raises on purpose."""


class ConfigError(AskdocsError):
    pass


class InputError(AskdocsError):
    pass


class UnknownNameError(InputError):
    def __init__(self, kind: str, name: str, available: list[str]) -> None:
        self.kind, self.name, self.available = kind, name, sorted(available)
        super().__init__(f"unknown {kind} {name!r}; available: {', '.join(self.available)}")


class LoadError(AskdocsError):
    def __init__(self, source: str, reason: str) -> None:
        self.source, self.reason = source, reason
        super().__init__(f"{source}: {reason}")

    def __reduce__(self) -> tuple[type[LoadError], tuple[str, str]]:  # crosses to and from parser processes
        return LoadError, (self.source, self.reason)


class VectorIndexError(AskdocsError):
    pass


class IndexLockedError(VectorIndexError):
    pass


class DiskSpaceError(VectorIndexError):
    pass


class DimensionMismatchError(VectorIndexError):
    pass


class ModelMismatchError(VectorIndexError):
    pass


class GenerationError(AskdocsError):
    pass


class FineTuneError(AskdocsError):
    pass


class StoreError(AskdocsError):
    pass


class ServiceError(AskdocsError):
    def __init__(self, message: str, status: int | None = None, detail: str = "") -> None:
        self.status, self.detail = status, detail  # status None: the service did not answer at all
        super().__init__(message)
