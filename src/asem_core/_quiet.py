"""Quiet model loading: no progress bars from transformers / huggingface_hub unless asked.

ASEM logs through :mod:`logging` (loggers under ``asem_core``). Loading a model shows no
"Loading weights" or GGUF conversion bars; set ``ASEM_VERBOSE=1`` or put the ``asem_core``
logger at ``DEBUG`` to see them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["log", "quiet_loading"]

log = logging.getLogger("asem_core")


def _verbose() -> bool:
    return os.environ.get("ASEM_VERBOSE", "").strip() not in ("", "0", "false") or log.isEnabledFor(logging.DEBUG)


@contextmanager
def quiet_loading(what: str) -> Iterator[None]:
    """Load a model without progress bars or info chatter (restored afterwards); logs ``what`` at INFO."""
    log.info("loading %s", what)
    if _verbose():
        yield
        return
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers is a dependency of sentence-transformers
        yield
        return
    bars = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
