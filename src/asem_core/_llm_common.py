"""What the LLM stages share: relative-date resolution, the ask/repair/retry loop, prompt lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ._llm import Message, MeteredLLM
from ._llm_json import ReplyError
from ._text import human_date
from ._types import Note

__all__ = ["MAX_FIELD", "ask", "clean_list", "clip", "log", "note_line", "resolve_relative_dates"]

log = logging.getLogger("asem_core.llm")

MAX_FIELD = 300
"""Longest accepted free-text field (context, reason, relation, answer) in characters."""


# ---------------------------------------------------------------------------- dates
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_REL = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|last night|this morning|last week|next week|last month|next month|last year|next year|"
    r"last weekend|this weekend|(?:last|this past|next) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"(?:a|one|two|three|a few) (?:days?|weeks?|months?|years?) ago)\b",
    re.IGNORECASE,
)
_N = {"a": 1, "one": 1, "two": 2, "three": 3, "a few": 3}


def _resolve_one(phrase: str, now: datetime) -> str | None:
    p = phrase.lower()
    day = timedelta(days=1)
    if p in ("today", "tonight", "this morning"):
        return now.strftime("%-d %B %Y")
    if p in ("yesterday", "last night"):
        return (now - day).strftime("%-d %B %Y")
    if p == "tomorrow":
        return (now + day).strftime("%-d %B %Y")
    if p in ("last week", "last weekend"):
        return f"the week before {now.strftime('%-d %B %Y')}"
    if p in ("next week", "this weekend"):
        return f"the week after {now.strftime('%-d %B %Y')}" if p == "next week" else f"the weekend of {now.strftime('%-d %B %Y')}"
    if p in ("last month", "next month"):
        month = (now.replace(day=1) - day) if p == "last month" else (now.replace(day=28) + timedelta(days=4))
        return month.strftime("%B %Y")
    if p in ("last year", "next year"):
        return str(now.year - 1 if p == "last year" else now.year + 1)
    words = p.split()
    if words[-1] in _WEEKDAYS:
        target = _WEEKDAYS.index(words[-1])
        if words[0] == "next":
            delta = (target - now.weekday()) % 7 or 7
            return (now + timedelta(days=delta)).strftime("%-d %B %Y")
        delta = (now.weekday() - target) % 7 or 7
        return (now - timedelta(days=delta)).strftime("%-d %B %Y")
    if words[-1] == "ago":
        count = _N.get(" ".join(words[:-2]), 1)
        unit = words[-2].rstrip("s")
        days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * count
        return (now - timedelta(days=days)).strftime("%B %Y" if unit in ("month", "year") else "%-d %B %Y")
    return None


def resolve_relative_dates(text: str, timestamp: str) -> str:
    """Add the absolute date after each relative time ("yesterday" → "yesterday (7 May 2023)").

    Args:
        text: The fact.
        timestamp: ISO time of the fact (the session time).
    """
    try:
        now = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return text

    def sub(match: re.Match[str]) -> str:
        resolved = _resolve_one(match.group(0), now)
        tail = text[match.end() : match.end() + 2]
        if resolved is None or tail.startswith(" ("):
            return match.group(0)
        return f"{match.group(0)} ({resolved})"

    return _REL.sub(sub, text)


# ---------------------------------------------------------------------------- the ask loop
def clean_list(values: list[str], limit: int) -> list[str]:
    """Up to ``limit`` distinct, whitespace-normalised, non-empty short strings of ``values``."""
    out: list[str] = []
    for v in values:
        v = " ".join(str(v).split()).strip(" .,;:#\"'")
        if v and len(v) <= 40 and v.lower() not in (o.lower() for o in out):
            out.append(v)
    return out[:limit]


def ask(
    llm: MeteredLLM,
    stage: str,
    prompts: Sequence[list[Message]],
    parse: Callable[[str, int], Any],
    *,
    prefix: str,
    max_new_tokens: int,
    priority: Sequence[float] | None = None,
) -> list[Any]:
    """Generate, parse with ``parse(text, index)``; retry the failures once with their error; None where both fail.

    Inside a :meth:`MeteredLLM.budget`, only as many prompts as it has room for are sent (the
    highest ``priority`` first, else in order) and retries only while room is left; the others
    get None, so the caller keeps its heuristic result.
    """
    if not prompts:
        return []
    results: list[Any] = [None] * len(prompts)
    errors: dict[int, tuple[str, str]] = {}
    usage = llm.stage(stage)
    send = list(range(len(prompts)))
    room = llm.room()
    if room is not None and room < len(send):
        send = sorted(sorted(send, key=lambda i: -priority[i])[:room]) if priority is not None else send[:room]
        usage.skipped += len(prompts) - len(send)
        log.info("%s: %d prompt(s) over the ingest call budget, heuristic kept", stage, len(prompts) - len(send))
    if not send:
        return results
    for i, gen in zip(send, llm.generate([prompts[i] for i in send], stage=stage, max_new_tokens=max_new_tokens, prefix=prefix)):
        try:
            results[i] = parse(gen.text, i)
        except ReplyError as exc:
            errors[i] = (gen.text, str(exc))
    room = llm.room()
    if errors and room is not None and room < len(errors):
        for i in sorted(errors)[room:]:
            usage.fallbacks += 1
            log.info("%s: reply rejected, no call budget left for a retry, heuristic fallback (%s)", stage, errors.pop(i)[1])
    if errors:
        usage.retries += len(errors)
        retry_ids = sorted(errors)
        retry_prompts = [
            [
                *prompts[i],
                {"role": "assistant", "content": errors[i][0][:600]},
                {"role": "user", "content": f"That reply was invalid: {errors[i][1]}. Reply again with only the JSON."},
            ]
            for i in retry_ids
        ]
        for i, gen in zip(retry_ids, llm.generate(retry_prompts, stage=stage, max_new_tokens=max_new_tokens, prefix=prefix)):
            try:
                results[i] = parse(gen.text, i)
            except ReplyError as exc:
                usage.fallbacks += 1
                log.info("%s: reply rejected twice, heuristic fallback (%s; then %s)", stage, errors[i][1], exc)
    return results


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def note_line(n: int, note: Note) -> str:
    """One numbered prompt line for a note: ``[n] (date) Speaker: content``."""
    speaker = note.metadata.get("speaker")
    who = f"{speaker}: " if speaker else ""
    return f"[{n}] ({human_date(note.timestamp)}) {who}{clip(note.content, 240)}"
