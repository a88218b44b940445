"""Stage 1 by an LLM: note construction (standalone facts, keywords, tags, context)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._config import ASEMConfig
from ._enrich import Enrichment, HeuristicEnricher
from ._llm import Message, MeteredLLM
from ._llm_common import MAX_FIELD, ask, clean_list, log, resolve_relative_dates
from ._llm_json import ReplyError, parse_reply
from ._manager import _content_words
from ._text import human_date

__all__ = ["Constructed", "LLMEnricher"]


class _NoteOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    i: int
    fact: str | None = None
    keywords: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    context: str | None = None

    @field_validator("keywords", "tags", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p for p in re.split(r"[,;]", v) if p.strip()]
        return v


class _NotesOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    notes: list[_NoteOut]


_CONSTRUCT_SYSTEM = (
    'You turn chat turns into memory notes. For every numbered turn give: "i" (its number), "fact" (the turn as one '
    'standalone sentence, with names instead of pronouns), "keywords" (3-5 words), "tags" (1-2 topics), "context" (a short '
    "phrase: who, what, when). Reply with one line of JSON."
)
_CONSTRUCT_EXAMPLE: list[Message] = [
    {"role": "user", "content": "1. [3 March 2022] Tom: Just got back from Paris with my sister!\n2. [3 March 2022] Ann: Wow, how was the food there?"},
    {
        "role": "assistant",
        "content": '{"notes": [{"i": 1, "fact": "Tom got back from a trip to Paris with his sister.", "keywords": ["Paris", "trip", "sister"], '
        '"tags": ["travel"], "context": "Tom on 3 March 2022 about his Paris trip"}, {"i": 2, "fact": "Ann asked Tom how the food in Paris was.", '
        '"keywords": ["food", "Paris"], "tags": ["food", "travel"], "context": "Ann on 3 March 2022 asking about Paris"}]}',
    },
]


@dataclass(frozen=True)
class Constructed:
    """A constructed note: its content (standalone fact) and enrichment."""

    content: str
    enrichment: Enrichment


class LLMEnricher:
    """Note construction by an LLM, several turns per prompt, with the heuristic as fallback.

    Each field is checked on its own: an empty or over-long keyword list, tags or context is
    rejected (logged) and replaced by the heuristic value; a "fact" that shares too few words
    with the turn (a hallucination) is rejected and the turn itself is kept, with its relative
    dates resolved.

    Args:
        llm: The metered model.
        fallback: The heuristic enricher.
        config: ``llm_turns_per_call`` and ``llm_max_new_tokens`` come from here.
    """

    name = "llm"

    def __init__(self, llm: MeteredLLM, fallback: HeuristicEnricher, config: ASEMConfig) -> None:
        self.llm = llm
        self.fallback = fallback
        self.config = config

    def construct(
        self, texts: Sequence[str], timestamps: Sequence[str], speakers: Sequence[str | None], intents: Any, base: Sequence[Enrichment] | None = None
    ) -> list[Constructed]:
        """Facts and enrichments for a batch of turns (same order).

        ``base`` are the heuristic enrichments of the same turns when the caller has them already.
        """
        base = list(base) if base is not None else self.fallback.enrich(texts, timestamps, speakers, intents)
        n = self.config.llm_turns_per_call
        groups = [list(range(s, min(s + n, len(texts)))) for s in range(0, len(texts), n)]
        prompts = []
        for group in groups:
            lines = [f"{k + 1}. [{human_date(timestamps[j])}] {speakers[j] or 'Someone'}: {texts[j]}" for k, j in enumerate(group)]
            prompts.append([{"role": "system", "content": _CONSTRUCT_SYSTEM}, *_CONSTRUCT_EXAMPLE, {"role": "user", "content": "\n".join(lines)}])

        def parse(text: str, g: int) -> dict[int, _NoteOut]:
            out = parse_reply(text, _NotesOut)
            got = {n.i: n for n in out.notes if 1 <= n.i <= len(groups[g])}
            if not got:
                msg = f"no note has an 'i' between 1 and {len(groups[g])}"
                raise ReplyError(msg)
            return got

        replies = ask(self.llm, "construct", prompts, parse, prefix='{"notes": [{"i": 1, "fact": "', max_new_tokens=self.config.llm_max_new_tokens)
        usage = self.llm.stage("construct")
        result: list[Constructed] = []
        for group, reply in zip(groups, replies):
            for k, j in enumerate(group):
                heur = base[j]
                raw = texts[j]
                got = (reply or {}).get(k + 1)
                if got is None:
                    usage.fallbacks += reply is not None
                    result.append(Constructed(resolve_relative_dates(raw, timestamps[j]), heur))
                    continue
                keywords = clean_list(got.keywords, 10)
                if not keywords:
                    usage.rejected += 1
                    log.info("construct: turn %d: empty keyword list rejected", j)
                    keywords = heur.keywords
                tags = clean_list(got.tags, 4) or heur.tags
                context = " ".join((got.context or "").split())
                if not context or len(context) > MAX_FIELD:
                    usage.rejected += bool(context)
                    context = heur.context
                fact = self._check_fact(got.fact, raw, speakers[j], timestamps[j])
                if fact is None:
                    usage.rejected += 1
                    fact = resolve_relative_dates(raw, timestamps[j])
                result.append(Constructed(fact, Enrichment(keywords, tags, context)))
        return result

    @staticmethod
    def _check_fact(fact: str | None, raw: str, speaker: str | None, timestamp: str) -> str | None:
        if not fact or not isinstance(fact, str):
            return None
        fact = " ".join(fact.split())
        if speaker and fact.lower().startswith(f"{speaker.lower()}:"):
            fact = fact[len(speaker) + 1 :].strip()
        if len(fact) > 2 * len(raw) + 80 or len(fact) < 8:
            log.info("construct: fact rejected (length %d for a turn of %d)", len(fact), len(raw))
            return None
        allowed = _content_words(f"{raw} {speaker or ''} {human_date(timestamp)} {timestamp}")
        words = _content_words(fact)
        if not words or len(words & allowed) < 0.6 * len(words):
            log.info("construct: fact rejected (it shares too few words with the turn): %r", fact[:120])
            return None
        return resolve_relative_dates(fact, timestamp)
