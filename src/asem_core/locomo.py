"""LoCoMo-format conversations: loading them, and ingesting a conversation session by session."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import DataFormatError
from ._text import normalize_timestamp
from ._types import Operation

if TYPE_CHECKING:
    from ._asem import ASEM

__all__ = ["CATEGORY_NAMES", "QA", "Batch", "Conversation", "Turn", "ingest_sessions", "load_locomo"]

CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
_SESSION = re.compile(r"^session_(\d+)$")


@dataclass(frozen=True)
class Turn:
    """One dialogue turn; ``text`` has the image caption appended when there is one."""

    dia_id: str
    speaker: str
    text: str
    timestamp: str
    session: int

    def as_item(self) -> dict[str, Any]:
        """The ``add_many`` item for this turn."""
        return {"text": self.text, "timestamp": self.timestamp, "metadata": {"source_id": self.dia_id, "speaker": self.speaker, "session": self.session}}


@dataclass(frozen=True)
class QA:
    """A question with its gold answer, evidence turn ids and category (1-5)."""

    question: str
    answer: str
    evidence: tuple[str, ...]
    category: int


@dataclass
class Conversation:
    """A LoCoMo conversation."""

    sample_id: str
    speakers: tuple[str, str]
    turns: list[Turn] = field(default_factory=list)
    qa: list[QA] = field(default_factory=list)
    bad_evidence: int = 0


def _parse_conversation(sample_id: str, conv: dict[str, Any], qa: list[Any], where: str) -> Conversation:
    if not isinstance(conv, dict) or "speaker_a" not in conv or "speaker_b" not in conv:
        msg = f"{where}: not a LoCoMo conversation (no speaker_a/speaker_b)"
        raise DataFormatError(msg)
    out = Conversation(sample_id, (str(conv["speaker_a"]), str(conv["speaker_b"])))
    sessions = sorted((int(m.group(1)), key) for key in conv if (m := _SESSION.match(key)))
    for number, key in sessions:
        turns = conv[key]
        if not isinstance(turns, list) or not turns:
            continue
        when = conv.get(f"{key}_date_time")
        try:
            ts = normalize_timestamp(when) if when else normalize_timestamp(None)
        except Exception as exc:
            msg = f"{where}: {key}_date_time {when!r} is not a date"
            raise DataFormatError(msg) from exc
        for t in turns:
            if not isinstance(t, dict) or "dia_id" not in t or "text" not in t:
                msg = f"{where}: {key} has a turn without dia_id/text"
                raise DataFormatError(msg)
            text = str(t["text"])
            if t.get("blip_caption"):
                text = f"{text} [shares an image: {t['blip_caption']}]"
            out.turns.append(Turn(str(t["dia_id"]), str(t.get("speaker", "")), text, ts, number))
    if not out.turns:
        msg = f"{where}: the conversation has no turns"
        raise DataFormatError(msg)
    ids = {t.dia_id for t in out.turns}
    for q in qa or []:
        if not isinstance(q, dict) or "question" not in q:
            msg = f"{where}: a qa entry has no question"
            raise DataFormatError(msg)
        evidence = []
        for ev in q.get("evidence", []) or []:
            for part in re.split(r"[;,\s]+", str(ev)):
                if part in ids:
                    evidence.append(part)
                elif part:
                    out.bad_evidence += 1
        answer = q.get("answer", q.get("adversarial_answer", ""))
        out.qa.append(QA(str(q["question"]), str(answer), tuple(dict.fromkeys(evidence)), int(q.get("category", 0))))
    return out


def load_locomo(path: str | Path) -> list[Conversation]:
    """Load LoCoMo conversations from a folder of ``conv-*.json`` files, one such file, or ``locomo10.json``.

    Raises:
        DataFormatError: A file is missing, not JSON, or not in either LoCoMo layout.
    """
    path = Path(path)
    files = sorted(p for p in path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        msg = f"{path}: no .json files"
        raise DataFormatError(msg)
    out: list[Conversation] = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            msg = f"{file}: cannot read LoCoMo JSON ({exc})"
            raise DataFormatError(msg) from exc
        if isinstance(data, list):
            for n, sample in enumerate(data):
                if not isinstance(sample, dict) or "conversation" not in sample:
                    msg = f"{file}[{n}]: expected {{'sample_id', 'conversation', 'qa'}}"
                    raise DataFormatError(msg)
                out.append(_parse_conversation(str(sample.get("sample_id", f"{file.stem}-{n}")), sample["conversation"], sample.get("qa", []), f"{file}[{n}]"))
        elif isinstance(data, dict):
            conv = data.get("conversation", data)
            out.append(_parse_conversation(str(data.get("sample_id", file.stem)), conv, data.get("qa", []), str(file)))
        else:
            msg = f"{file}: not a LoCoMo file"
            raise DataFormatError(msg)
    return out


@dataclass(frozen=True)
class Batch:
    """Progress of :func:`ingest_sessions` after one ``add_many`` call.

    Attributes:
        session: 1-based number of the session the batch belongs to.
        sessions: Sessions in all.
        size: Items in the batch.
        done: Items ingested so far.
        total: Items in all.
        seconds: Wall time of this batch's ``add_many``.
        last_in_session: The batch ends its session.
    """

    session: int
    sessions: int
    size: int
    done: int
    total: int
    seconds: float
    last_in_session: bool


def ingest_sessions(
    mem: ASEM,
    items: Sequence[Mapping[str, Any]],
    *,
    batch: int | None = None,
    on_batch: Callable[[Batch], None] | None = None,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
) -> list[Operation]:
    """Add conversation items session by session, so "follows" links stay inside a session.

    Items are grouped by ``metadata["session"]`` (first-seen order; items without one form a
    group) and each group is added in ``add_many`` calls of at most ``batch`` items.

    Args:
        mem: The memory.
        items: ``add_many`` items, e.g. :meth:`Turn.as_item` of each turn.
        batch: Items per ``add_many`` call (default: a whole session).
        on_batch: Called after each call with its :class:`Batch` (progress bars, timings).
        user_id: Scope: user.
        agent_id: Scope: agent.
        session_id: Scope: session.

    Returns:
        Every operation, in order.
    """
    sessions: dict[Any, list[Mapping[str, Any]]] = {}
    for item in items:
        meta = item.get("metadata") or {}
        sessions.setdefault(meta.get("session") if isinstance(meta, Mapping) else None, []).append(item)
    ops: list[Operation] = []
    done = 0
    for n, group in enumerate(sessions.values(), 1):
        step = batch or len(group)
        for i in range(0, len(group), step):
            chunk = group[i : i + step]
            start = time.perf_counter()
            ops += mem.add_many(chunk, user_id=user_id, agent_id=agent_id, session_id=session_id)
            done += len(chunk)
            if on_batch is not None:
                on_batch(Batch(n, len(sessions), len(chunk), done, len(items), time.perf_counter() - start, i + step >= len(group)))
    return ops
