"""Stage 1, note construction: keywords, tags, context line and the texts to embed.

:class:`HeuristicEnricher` needs no LLM; :class:`LLMEnricher` asks an LLM for standalone facts
(pronouns and relative dates resolved) with the heuristic as its fallback.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._config import ASEMConfig
from ._embedder import Embedder
from ._prompt import data_text
from ._text import content_words, extract_keywords, human_date
from .llm import MAX_FIELD, Message, MeteredLLM, ReplyError, ask, clean_list, log, parse_reply

__all__ = [
    "TAG_VOCABULARY",
    "Constructed",
    "Enrichment",
    "HeuristicEnricher",
    "LLMEnricher",
    "construct_messages",
    "joint_text",
    "lexical_text",
    "resolve_relative_dates",
]

TAG_VOCABULARY: tuple[str, ...] = (
    "family",
    "children",
    "partner and relationships",
    "friends",
    "pets and animals",
    "work and career",
    "school and education",
    "health and fitness",
    "mental health and emotions",
    "sports",
    "music",
    "art and painting",
    "books and reading",
    "movies and tv",
    "games",
    "travel and trips",
    "food and cooking",
    "home and housing",
    "money and finance",
    "shopping",
    "technology",
    "nature and outdoors",
    "religion and beliefs",
    "community and volunteering",
    "identity",
    "events and celebrations",
    "plans and goals",
    "hobbies",
    "cars and vehicles",
    "weather and seasons",
    "news and politics",
    "fashion and clothes",
    "science",
    "business",
    "writing",
    "photography",
    "dance",
    "gardening",
    "camping and hiking",
    "concerts",
)


@dataclass(frozen=True)
class Enrichment:
    """What note construction adds to a fact."""

    keywords: list[str]
    tags: list[str]
    context: str


def joint_text(content: str, keywords: Sequence[str], tags: Sequence[str], context: str, speaker: str | None = None) -> str:
    """The text whose embedding is the note's joint embedding.

    The speaker leads the content ("Sam: ..."): on LoCoMo this alone lifts dense recall@10
    from 0.25 to 0.50, and the context, keyword and tag lines lift it further to about 0.62.
    """
    parts = [f"{speaker}: {content.strip()}" if speaker else content.strip()]
    if context:
        parts.append(f"Context: {context}")
    if keywords:
        parts.append("Keywords: " + ", ".join(keywords))
    if tags:
        parts.append("Tags: " + ", ".join(tags))
    return "\n".join(parts)


def lexical_text(content: str, keywords: Sequence[str], context: str) -> str:
    """The text indexed by the lexical channel (tags are left out: they are generic)."""
    return f"{content} {context} {' '.join(keywords)}"


class HeuristicEnricher:
    """Note construction without an LLM.

    Keywords by a salience heuristic, tags by nearest labels of :data:`TAG_VOCABULARY` in the
    embedder's space, and a context line with the speaker and the date of the event.

    Args:
        embedder: Used for tags; the label vectors are computed once.
        keywords: Keywords per note.
        tags: Tags per note.
    """

    name = "heuristic"

    def __init__(self, embedder: Embedder, keywords: int = 8, tags: int = 2) -> None:
        self._embedder = embedder
        self._n_keywords = keywords
        self._n_tags = tags
        self._labels: np.ndarray | None = None
        self._lock = threading.Lock()

    def _label_vectors(self) -> np.ndarray:
        with self._lock:
            if self._labels is None:
                self._labels = self._embedder.embed(list(TAG_VOCABULARY))
        return self._labels

    def enrich(self, texts: Sequence[str], timestamps: Sequence[str], speakers: Sequence[str | None], intents: np.ndarray) -> list[Enrichment]:
        """Enrich a batch of facts.

        Args:
            texts: The facts.
            timestamps: ISO times of the events.
            speakers: Who said each fact, if known.
            intents: Intent embeddings of the facts (rows of unit length).
        """
        labels = self._label_vectors()
        sims = intents @ labels.T if len(texts) else np.zeros((0, len(labels)))
        out: list[Enrichment] = []
        for i, text in enumerate(texts):
            top = np.argsort(-sims[i])[: self._n_tags]
            tags = [TAG_VOCABULARY[j] for j in top]
            when = human_date(timestamps[i])
            context = f"{speakers[i]} on {when}" if speakers[i] else f"on {when}"
            # a turn with no word at all (";)") still gets a keyword: its speaker, else its first tag
            speaker = speakers[i]
            keywords = extract_keywords(text, self._n_keywords) or ([speaker.lower()] if speaker else tags[:1])
            out.append(Enrichment(keywords, tags, context))
        return out


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
    {"role": "user", "content": '1. [3 March 2022] "Tom": "Just got back from Paris with my sister!"\n2. [3 March 2022] "Ann": "Wow, how was the food there?"'},
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


def construct_messages(texts: Sequence[str], timestamps: Sequence[str], speakers: Sequence[str | None]) -> list[Message]:
    """The note-construction prompt for numbered turns (their texts escaped as data)."""
    rows = enumerate(zip(texts, timestamps, speakers))
    lines = [f"{k + 1}. [{human_date(ts)}] {data_text(who or 'Someone', 60)}: {data_text(text)}" for k, (text, ts, who) in rows]
    return [{"role": "system", "content": _CONSTRUCT_SYSTEM}, *_CONSTRUCT_EXAMPLE, {"role": "user", "content": "\n".join(lines)}]


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
        prompts = [construct_messages([texts[j] for j in g], [timestamps[j] for j in g], [speakers[j] for j in g]) for g in groups]

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
        allowed = content_words(f"{raw} {speaker or ''} {human_date(timestamp)} {timestamp}")
        words = content_words(fact)
        if not words or len(words & allowed) < 0.6 * len(words):
            log.info("construct: fact rejected (it shares too few words with the turn): %r", fact[:120])
            return None
        return resolve_relative_dates(fact, timestamp)
