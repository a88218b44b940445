"""Utility learning: the EMA update and a persistent utility table for items ASEM does not store.

Frameworks keep their own documents (a LlamaIndex ``VectorStoreIndex``, a LangChain vector
store); the table lets ASEM learn a utility for each of their ids and re-rank them by value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._errors import InvalidInputError, StoreError
from ._retrieval import zscore
from ._text import now_iso

__all__ = ["UtilityTable", "check_reward", "ema", "value_rerank"]

_DUMMY = [1.0]


def check_reward(reward: object) -> float:
    """Return the reward as a float, or raise :class:`InvalidInputError` unless it is finite and in [-1, 1]."""
    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(reward) or not -1.0 <= reward <= 1.0:
        msg = f"reward must be a finite number in [-1, 1], got {reward!r}"
        raise InvalidInputError(msg)
    return float(reward)


def ema(q: float, reward: float, alpha: float) -> float:
    """The utility update q ← q + α(r − q)."""
    return q + alpha * (reward - q)


def value_rerank(scores: Sequence[float], utilities: Sequence[float], lam: float, spread_floor: float = 0.0) -> np.ndarray:
    """Phase-B scores (1-λ)·z(score) + λ·z(q) for a pool of items.

    With all utilities equal (e.g. every item new), the result orders items exactly as ``scores``.
    """
    s = np.asarray(scores, dtype=np.float64)
    q = np.asarray(utilities, dtype=np.float64)
    return np.asarray((1.0 - lam) * zscore(s) + lam * zscore(q, spread_floor))


class UtilityTable:
    """Utility values of external item ids, persisted in the ASEM store (one Chroma collection).

    Args:
        client: The Chroma client of the store.
        name: Collection name.
        q0: Utility of an item never rated.
    """

    def __init__(self, client: Any, name: str, q0: float) -> None:
        self.q0 = q0
        try:
            self._col = client.get_or_create_collection(name, embedding_function=None)
        except Exception as exc:
            msg = f"cannot open the utility table {name!r}: {exc}"
            raise StoreError(msg) from exc

    def get(self, keys: Sequence[str]) -> dict[str, tuple[float, int]]:
        """(q, uses) of each key; unseen keys get (q0, 0)."""
        out = {k: (self.q0, 0) for k in keys}
        if keys:
            got = self._col.get(ids=list(dict.fromkeys(keys)), include=["metadatas"])
            for key, meta in zip(got["ids"], got["metadatas"]):
                out[key] = (float(meta.get("q", self.q0)), int(meta.get("uses", 0)))
        return out

    def update(self, keys: Sequence[str], reward: float, alpha: float) -> dict[str, float]:
        """Apply the EMA update to each key; returns the new utilities."""
        reward = check_reward(reward)
        if not keys:
            return {}
        unique = list(dict.fromkeys(keys))
        current = self.get(unique)
        new = {k: ema(current[k][0], reward, alpha) for k in unique}
        now = now_iso()
        self._col.upsert(
            ids=unique,
            embeddings=[_DUMMY] * len(unique),
            metadatas=[{"q": new[k], "uses": current[k][1] + 1, "updated": now} for k in unique],
        )
        return new
