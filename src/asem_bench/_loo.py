"""Leave-one-conversation-out tuning of ASEM's retrieval settings on LoCoMo.

Retrieval settings are tuned on four conversations and scored on the fifth, for every rotation,
so a reported figure never comes from settings chosen on the conversation it is measured on
(quality is also judged on LoCoMo conversations outside the five). Each conversation is
ingested once; the settings of the grid change only search-time fields, so every grid point is
a search over the same notes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asem_core import ConfigError
from asem_core.locomo import CATEGORY_NAMES, Conversation

from ._systems import ASEMSystem
from .metrics import distinct_sources, evidence_metrics

__all__ = ["DEFAULT_GRID", "SEARCH_FIELDS", "LooResult", "format_loo", "leave_one_out", "parse_grid"]

SEARCH_FIELDS = frozenset(
    {"delta", "dense_weight", "lexical_weight", "hop_weight", "hop_sources", "k1", "rrf_k", "recency", "lam", "utility_spread_floor", "speaker_weight"}
)
"""ASEMConfig fields read only at search time (the grid may vary these)."""

DEFAULT_GRID: dict[str, list[Any]] = {"lexical_weight": [0.5, 0.8], "hop_weight": [0.5, 1.0], "speaker_weight": [0.0, 0.5]}


def parse_grid(text: str) -> dict[str, list[Any]]:
    """``"lexical_weight=0.3,0.5;hop_weight=0.5,1"`` as a grid (values read as numbers where they parse)."""
    grid: dict[str, list[Any]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, values = part.partition("=")
        name = name.strip()
        if not sep or not values.strip():
            msg = f"grid part {part!r} is not FIELD=V1,V2,..."
            raise ConfigError(msg)
        if name not in SEARCH_FIELDS:
            msg = f"grid field {name!r} is not a search-time setting (one of {', '.join(sorted(SEARCH_FIELDS))})"
            raise ConfigError(msg)
        grid[name] = [_number(v.strip()) for v in values.split(",") if v.strip()]
    return grid


def _number(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


@dataclass
class LooResult:
    """Per held-out conversation: the settings tuned on the other four and the figures they give."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    grid_points: int = 0

    def mean(self, key: str) -> float:
        """Average of ``key`` over the held-out conversations (each scored by settings tuned without it)."""
        values = [r[key] for r in self.rows if key in r]
        return float(np.mean(values)) if values else 0.0


def _scores(system: ASEMSystem, convs: Sequence[Conversation]) -> list[tuple[str, int, float]]:
    out = []
    for conv in convs:
        for qa in conv.qa:
            if qa.category in (1, 2, 3, 4) and qa.evidence:
                ranked = system.retrieve(conv.sample_id, qa.question, 10)
                out.append((conv.sample_id, qa.category, evidence_metrics(distinct_sources(ranked), qa.evidence, [10])["recall@10"]))
    return out


def leave_one_out(
    system: ASEMSystem, convs: Sequence[Conversation], grid: Mapping[str, Sequence[Any]] | None = None, log: Callable[[str], None] = print
) -> LooResult:
    """Score every grid point on every question, then tune on four conversations and report the fifth.

    The conversations must already be ingested into ``system``. The tuning objective is mean
    recall@10 over the questions of the four training conversations. Utility is switched off
    (λ=0 unless the grid varies it), so feedback given earlier does not leak into the figures.
    """
    grid = dict(DEFAULT_GRID if grid is None else grid)
    base = system.mem.config
    names = list(grid)
    points = [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))] or [{}]
    table: list[list[tuple[str, int, float]]] = []
    try:
        for point in points:
            system.mem.config = base.replace(**{"lam": 0.0, **point})  # cold utility: feedback passes run before must not leak in
            table.append(_scores(system, convs))
            log(f"leave-one-out grid {point}: R@10 {np.mean([s for _, _, s in table[-1]]):.3f}")
    finally:
        system.mem.config = base
    result = LooResult(grid_points=len(points))
    default = _default_point(points, base)
    default_index = points.index(default) if default is not None else None
    for held in convs:
        train = [float(np.mean([s for c, _, s in scores if c != held.sample_id])) for scores in table]
        best = int(np.argmax(train))
        mine = [(cat, s) for c, cat, s in table[best] if c == held.sample_id]
        row: dict[str, Any] = {"conversation": held.sample_id, "settings": points[best], "train_recall@10": train[best]}
        row["recall@10"] = float(np.mean([s for _, s in mine]))
        for cat in (1, 2, 3, 4):
            vals = [s for c, s in mine if c == cat]
            if vals:
                row[f"cat{cat}"] = float(np.mean(vals))
        if default_index is not None:
            row["default_recall@10"] = float(np.mean([s for c, _, s in table[default_index] if c == held.sample_id]))
        result.rows.append(row)
    return result


def _default_point(points: Sequence[dict[str, Any]], base: Any) -> dict[str, Any] | None:
    """The grid point equal to the memory's own settings, if the grid holds it."""
    return next((p for p in points if all(getattr(base, k) == v for k, v in p.items())), None)


def format_loo(result: LooResult) -> str:
    """The leave-one-out table (Markdown)."""
    cats = " | ".join(f"{c} {CATEGORY_NAMES[c]}" for c in (1, 2, 3, 4))
    lines = [f"| held out | settings tuned on the other four | R@10 | {cats} | R@10 with defaults |", "|---|---|---|---|---|---|---|---|"]
    for r in result.rows:
        per = " | ".join(f"{r.get(f'cat{c}', float('nan')):.3f}" for c in (1, 2, 3, 4))
        settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items()) or "defaults"
        lines.append(f"| {r['conversation']} | {settings} | {r['recall@10']:.3f} | {per} | {r.get('default_recall@10', float('nan')):.3f} |")
    per = " | ".join(f"{result.mean(f'cat{c}'):.3f}" for c in (1, 2, 3, 4))
    lines.append(
        f"| **mean of held-out** | {result.grid_points} grid points | **{result.mean('recall@10'):.3f}** | {per} | {result.mean('default_recall@10'):.3f} |"
    )
    return "\n".join(lines)
