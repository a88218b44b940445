"""The ask / repair / retry loop every LLM stage uses, inside the ingest call budget."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from ._json import ReplyError
from ._metered import MeteredLLM
from ._protocol import Message

__all__ = ["MAX_FIELD", "ask", "clean_list", "log"]

log = logging.getLogger("asem_core.llm")

MAX_FIELD = 300
"""Longest accepted free-text field (context, reason, relation, answer) in characters."""


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
