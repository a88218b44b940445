"""The one exception hierarchy of ASEM.

Every error that ASEM raises on purpose derives from :class:`ASEMError`::

    ASEMError
    ├── ConfigError            (also ValueError)   bad option or config value
    ├── InvalidInputError      (also ValueError)   bad text, reward, type or argument
    │   └── DataFormatError                        a malformed LoCoMo / JSONL file
    ├── NoteNotFoundError      (also KeyError)     unknown id, or an id of another scope
    ├── ModelLoadError                             an embedder or model that cannot be loaded
    ├── LLMReplyError          (also ValueError)   an LLM reply that breaks its schema (caught inside
    │                                              ASEM: it triggers one retry, then the heuristic)
    └── StoreError                                 the Chroma store failed
        ├── StoreUnavailableError                  the server is down or went away
        ├── StoreLockedError                       another process has this local store open
        └── SchemaVersionError                     the store was written by an incompatible version
"""

from __future__ import annotations

__all__ = [
    "ASEMError",
    "ConfigError",
    "DataFormatError",
    "InvalidInputError",
    "LLMReplyError",
    "ModelLoadError",
    "NoteNotFoundError",
    "SchemaVersionError",
    "StoreError",
    "StoreLockedError",
    "StoreUnavailableError",
]


class ASEMError(Exception):
    """Base class of every error ASEM raises on purpose."""


class ConfigError(ASEMError, ValueError):
    """A configuration value is out of range or of the wrong type."""


class InvalidInputError(ASEMError, ValueError):
    """An argument (text, reward, scope, metadata...) is invalid; nothing was written."""


class DataFormatError(InvalidInputError):
    """An input file (LoCoMo JSON, JSONL of messages, an export dump) is malformed."""


class NoteNotFoundError(ASEMError, KeyError):
    """No note with this id exists in the given scope."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else "note not found"


class ModelLoadError(ASEMError):
    """An embedding model or language model could not be resolved or loaded."""


class StoreError(ASEMError):
    """The underlying Chroma store failed."""


class StoreUnavailableError(StoreError):
    """The Chroma server cannot be reached."""


class SchemaVersionError(StoreError):
    """The store was written by an ASEM version whose schema this one cannot read."""


class StoreLockedError(StoreError):
    """Another process holds this local store open for writing (use a Chroma server to share a store)."""


class LLMReplyError(ASEMError, ValueError):
    """An LLM reply holds no usable JSON, or breaks the stage's schema (unknown id, empty list ...)."""
