"""Reading input files for ``asem ingest``: LoCoMo JSON (either layout) or a JSONL of messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asem_core import DataFormatError
from asem_core.locomo import load_locomo

__all__ = ["load_items"]


def load_items(path: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    """Read a LoCoMo JSON (either layout) or a JSONL of messages into (scope hint, items) groups.

    Raises:
        DataFormatError: The file is in neither format.
    """
    if path.suffix == ".jsonl":
        items: list[dict[str, Any]] = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"{path}: cannot read ({exc})"
            raise DataFormatError(msg) from exc
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                msg = f"{path}:{n}: not JSON ({exc.msg})"
                raise DataFormatError(msg) from exc
            if not isinstance(row, dict) or not isinstance(row.get("content", row.get("text")), str):
                msg = f"{path}:{n}: expected an object with 'content' (or 'text')"
                raise DataFormatError(msg)
            meta = dict(row.get("metadata") or {})
            role = row.get("role") or row.get("speaker")
            if role is not None:
                meta.setdefault("speaker", role)
            items.append({"text": row.get("content", row.get("text")), "timestamp": row.get("timestamp"), "metadata": meta})
        return [(path.stem, items)]
    return [(conv.sample_id, [t.as_item() for t in conv.turns]) for conv in load_locomo(path)]
