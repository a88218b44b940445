"""Metering: prompts, batches, tokens and seconds per stage, and the ingest call budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ._protocol import LLM, Generation, Message

__all__ = ["MeteredLLM", "StageUsage"]


@dataclass
class StageUsage:
    """Counters of one LLM stage."""

    calls: int = 0
    batches: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    retries: int = 0
    fallbacks: int = 0
    rejected: int = 0
    skipped: int = 0
    """Prompts not sent because the ingest call budget was spent (the heuristic result is kept)."""


class MeteredLLM:
    """Wraps an :class:`LLM` and counts, per stage, prompts (calls), batches, tokens and seconds.

    Args:
        llm: The model.
    """

    def __init__(self, llm: LLM) -> None:
        self.llm = llm
        self.usage: dict[str, StageUsage] = {}
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._credit = 0.0

    @property
    def calls(self) -> int:
        """Prompts sent so far, all stages together."""
        with self._lock:
            return sum(u.calls for u in self.usage.values())

    def room(self) -> int | None:
        """Prompts that may still be sent inside the current :meth:`budget` (None: no budget)."""
        limit = self._limit
        return None if limit is None else max(limit - self.calls, 0)

    @contextmanager
    def budget(self, items: int, per_item: float | None) -> Iterator[None]:
        """Cap the prompts sent inside the block at ``per_item`` per ingested item, on average.

        Unspent allowance carries over to later blocks, and the prompts sent never exceed the
        allowance earned so far, so over any run of ingests the LLM makes at most ``per_item``
        calls per item. ``per_item=None`` sets no cap.
        """
        if per_item is None:
            yield
            return
        self._credit += items * per_item
        start = self.calls
        self._limit = start + int(self._credit + 1e-9)
        try:
            yield
        finally:
            self._credit = max(self._credit - (self.calls - start), 0.0)
            self._limit = None

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self.llm.name

    def stage(self, stage: str) -> StageUsage:
        """The counters of ``stage`` (created on first use)."""
        with self._lock:
            return self.usage.setdefault(stage, StageUsage())

    def generate(self, prompts: Sequence[Sequence[Message]], *, stage: str, max_new_tokens: int = 256, prefix: str = "") -> list[Generation]:
        """Generate and count under ``stage``."""
        if not prompts:
            return []
        start = time.perf_counter()
        gens = self.llm.generate(prompts, max_new_tokens=max_new_tokens, prefix=prefix)
        usage = self.stage(stage)
        with self._lock:
            usage.calls += len(prompts)
            usage.batches += 1
            usage.prompt_tokens += sum(g.prompt_tokens for g in gens)
            usage.completion_tokens += sum(g.completion_tokens for g in gens)
            usage.seconds += time.perf_counter() - start
        return gens

    def totals(self) -> dict[str, Any]:
        """``llm_calls``, ``prompt_tokens``, ``completion_tokens`` and the per-stage detail."""
        with self._lock:
            stages = {name: dict(vars(u)) for name, u in self.usage.items()}
        return {
            "llm": self.name,
            "llm_calls": sum(s["calls"] for s in stages.values()),
            "prompt_tokens": sum(s["prompt_tokens"] for s in stages.values()),
            "completion_tokens": sum(s["completion_tokens"] for s in stages.values()),
            "llm_seconds": round(sum(s["seconds"] for s in stages.values()), 3),
            "llm_stages": stages,
        }
