"""The LLM versions of ASEM's stages, each with a schema, one retry, and a heuristic fallback.

- :class:`LLMEnricher` — note construction: a standalone fact (pronouns and relative dates
  resolved), keywords, tags and a context line, for several turns per prompt;
- :class:`PromptedManager` — ADD / UPDATE(target) / DELETE(target) / NOOP with a reason;
- :class:`LLMLinker` — free-form relation labels to neighbours and their evolved tags/context;
- :class:`AnswerAgent` — an answer from retrieved notes, naming the notes it used;
- :func:`consolidate_prompt` — an experience note from (question, answer, reward).

Every reply is parsed with a pydantic schema (:mod:`asem_core._llm_json`), checked against
what the prompt offered (ids are the prompt's numbers, never free text), retried once with the
error shown to the model, and otherwise replaced by the heuristic result: a fact is never
dropped and a note is never overwritten because of a bad reply. Rejections are logged with
their reason on the ``asem_core.llm`` logger and counted in ``stats()["llm_stages"]``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._config import ASEMConfig
from ._enrich import Enrichment, HeuristicEnricher
from ._llm import LLM, Message, MeteredLLM
from ._llm_json import ReplyError, parse_reply
from ._manager import Decision, Fact, HeuristicManager, Neighbour, _content_words, _merge
from ._text import human_date
from ._types import Note, OpType

__all__ = [
    "Answer",
    "AnswerAgent",
    "LLMEnricher",
    "LLMLinker",
    "LinkPlan",
    "PromptedManager",
    "consolidate_prompt",
    "manager_messages",
    "parse_manager_reply",
    "resolve_relative_dates",
]

log = logging.getLogger("asem_core.llm")
S = TypeVar("S", bound=BaseModel)

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
def _clean_list(values: list[str], limit: int) -> list[str]:
    out: list[str] = []
    for v in values:
        v = " ".join(str(v).split()).strip(" .,;:#\"'")
        if v and len(v) <= 40 and v.lower() not in (o.lower() for o in out):
            out.append(v)
    return out[:limit]


def _ask(
    llm: MeteredLLM,
    stage: str,
    prompts: Sequence[list[Message]],
    parse: Callable[[str, int], Any],
    *,
    prefix: str,
    max_new_tokens: int,
) -> list[Any]:
    """Generate, parse with ``parse(text, index)``; retry the failures once with their error; None where both fail."""
    if not prompts:
        return []
    results: list[Any] = [None] * len(prompts)
    errors: dict[int, tuple[str, str]] = {}
    for i, gen in enumerate(llm.generate(prompts, stage=stage, max_new_tokens=max_new_tokens, prefix=prefix)):
        try:
            results[i] = parse(gen.text, i)
        except ReplyError as exc:
            errors[i] = (gen.text, str(exc))
    if errors:
        usage = llm.stage(stage)
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


# ---------------------------------------------------------------------------- stage 1: construction
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

        replies = _ask(self.llm, "construct", prompts, parse, prefix='{"notes": [{"i": 1, "fact": "', max_new_tokens=self.config.llm_max_new_tokens)
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
                keywords = _clean_list(got.keywords, 10)
                if not keywords:
                    usage.rejected += 1
                    log.info("construct: turn %d: empty keyword list rejected", j)
                    keywords = heur.keywords
                tags = _clean_list(got.tags, 4) or heur.tags
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


# ---------------------------------------------------------------------------- stage 2: the prompted manager
class _DecisionOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    op: str
    target: int | str | None = None
    content: str | None = None
    reason: str = ""

    @field_validator("op")
    @classmethod
    def _op(cls, v: str) -> str:
        op = v.strip().upper()
        if op not in ("ADD", "UPDATE", "DELETE", "NOOP"):
            msg = f"op must be ADD, UPDATE, DELETE or NOOP, not {v!r}"
            raise ValueError(msg)
        return op


MANAGER_SYSTEM = (
    "You maintain a memory of facts. Decide what to do with a NEW FACT given the numbered MEMORIES.\n"
    "ADD: it is new information. UPDATE: it is about the same thing as one memory and adds or changes a detail; give "
    '"content" that keeps both. DELETE: it makes one memory false. NOOP: a memory already says it.\n'
    "Reply with one line of JSON with the keys op, target (a memory number or null), content and reason."
)
_MANAGER_EXAMPLE: list[Message] = [
    {
        "role": "user",
        "content": "MEMORIES:\n[1] (2 June 2022) Tom: I have a cat named Felix.\n[2] (2 June 2022) Ann: I love jazz.\n\n"
        "NEW FACT (9 June 2022, Tom): Felix the cat is three years old.",
    },
    {
        "role": "assistant",
        "content": '{"op": "UPDATE", "target": 1, "content": "Tom has a cat named Felix, three years old.", "reason": "adds the age of Felix"}',
    },
]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _note_line(n: int, note: Note) -> str:
    speaker = note.metadata.get("speaker")
    who = f"{speaker}: " if speaker else ""
    return f"[{n}] ({human_date(note.timestamp)}) {who}{_clip(note.content, 240)}"


def manager_messages(fact: Fact, neighbours: Sequence[Neighbour]) -> list[Message]:
    """The prompted manager's prompt (shared with the GRPO trainer)."""
    lines = [_note_line(k + 1, nb.note) for k, nb in enumerate(neighbours)] or ["(none)"]
    who = f", {fact.speaker}" if fact.speaker else ""
    user = "MEMORIES:\n" + "\n".join(lines) + f"\n\nNEW FACT ({human_date(fact.timestamp)}{who}): {_clip(fact.text, 400)}"
    return [{"role": "system", "content": MANAGER_SYSTEM}, *_MANAGER_EXAMPLE, {"role": "user", "content": user}]


def _target(value: int | str | None, neighbours: Sequence[Neighbour]) -> str | None:
    if value is None or value == "":
        return None
    ids = [nb.note.id for nb in neighbours]
    if isinstance(value, str):
        stripped = value.strip().strip("[]#")
        if stripped in ids:
            return stripped
        if not stripped.isdigit():
            msg = f"target {value!r} is not one of the memory numbers 1-{len(ids)}"
            raise ReplyError(msg)
        value = int(stripped)
    if not 1 <= value <= len(ids):
        msg = f"target {value} is not one of the memory numbers 1-{len(ids)}"
        raise ReplyError(msg)
    return ids[value - 1]


def parse_manager_reply(text: str, fact: Fact, neighbours: Sequence[Neighbour]) -> Decision:
    """Read a manager reply into a :class:`Decision` that loses nothing.

    UPDATE content that drops the old or the new fact is replaced by content that keeps both.

    Raises:
        ReplyError: Not JSON, an unknown op, a target that is not one of the numbered memories, or
            an UPDATE/DELETE without a target.
    """
    out = parse_reply(text, _DecisionOut)
    op = OpType(out.op)
    target = _target(out.target, neighbours)
    if op in (OpType.UPDATE, OpType.DELETE) and target is None:
        msg = f"{op.value} needs a target memory number"
        raise ReplyError(msg)
    reason = " ".join(out.reason.split())[:MAX_FIELD] or f"{op.value} chosen by the prompted manager"
    if op is OpType.UPDATE:
        assert target is not None
        old = next(nb.note.content for nb in neighbours if nb.note.id == target)
        content = " ".join((out.content or "").split())
        need = _content_words(old) | _content_words(fact.text)
        if not content or len(content) > 2 * (len(old) + len(fact.text)) + 40 or len(_content_words(content) & need) < 0.8 * len(need):
            content = _merge(old, fact.text)
            reason += " (content rewritten to keep both facts)"
        return Decision(op, reason, target, content)
    if op is OpType.ADD:
        return Decision(op, reason)
    return Decision(op, reason, target)


class PromptedManager:
    """The memory manager as a prompted LLM; same interface as :class:`HeuristicManager`.

    The LLM is asked only when the nearest note reaches ``llm_manager_gate``; below it the fact
    is new. Decisions of a batch are generated together (:meth:`decide_batch`). A reply that
    stays invalid after one retry falls back to the heuristic policy.

    Args:
        llm: The model (a :class:`MeteredLLM`, or any :class:`LLM`).
        config: Gate and thresholds.
        name: Name in stats and logs.
    """

    def __init__(self, llm: LLM | MeteredLLM, config: ASEMConfig | None = None, name: str = "prompted") -> None:
        self.llm = llm if isinstance(llm, MeteredLLM) else MeteredLLM(llm)
        self.config = config or ASEMConfig()
        self.fallback = HeuristicManager(self.config)
        self.name = name

    def decide(self, fact: Fact, neighbours: Sequence[Neighbour]) -> Decision:
        """See :meth:`MemoryManager.decide`."""
        return self.decide_batch([fact], [neighbours])[0]

    def decide_batch(self, facts: Sequence[Fact], neighbours: Sequence[Sequence[Neighbour]]) -> list[Decision]:
        """Decide for several facts with one batched generation."""
        out: list[Decision | None] = [None] * len(facts)
        asked: list[int] = []
        for i, (_fact, near) in enumerate(zip(facts, neighbours)):
            best = max((nb.similarity for nb in near), default=-1.0)
            if best < self.config.llm_manager_gate:
                out[i] = Decision(OpType.ADD, f"new fact (nearest note similarity {best:.3f} is below the gate)")
            else:
                asked.append(i)
        prompts = [manager_messages(facts[i], neighbours[i]) for i in asked]
        replies = _ask(
            self.llm,
            "manage",
            prompts,
            lambda text, k: parse_manager_reply(text, facts[asked[k]], neighbours[asked[k]]),
            prefix='{"op": "',
            max_new_tokens=160,
        )
        for i, reply in zip(asked, replies):
            if reply is None:
                fb = self.fallback.decide(facts[i], neighbours[i])
                out[i] = Decision(fb.op, f"heuristic fallback after invalid LLM replies: {fb.reason}", fb.target_id, fb.content)
            else:
                out[i] = reply
        return [d for d in out if d is not None]


# ---------------------------------------------------------------------------- stage 3: links and evolution
class _LinkOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    relation: str = "related"


class _EvolveOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    tags: list[str] = Field(default_factory=list)
    context: str | None = None


class _LinksOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    links: list[_LinkOut] = Field(default_factory=list)
    evolve: list[_EvolveOut] = Field(default_factory=list)

    @field_validator("links", mode="before")
    @classmethod
    def _bare_ids(cls, v: Any) -> Any:
        """Repair ``{"links": [1, 2]}`` (ids without relations, common from small models) to unlabelled links."""
        if isinstance(v, list):
            return [{"id": x, "relation": "related"} if isinstance(x, int) and not isinstance(x, bool) else x for x in v]
        return v


_EXAMPLE_TAGS = ("sailing", "harbour")
_EXAMPLE_CONTEXT = "Planning a weekend sailing trip"
"""The evolution example in the prompt; replies that copy it are rejected."""

_LINK_SYSTEM = (
    "You connect memories. Given a NEW memory and numbered RELATED memories, name how each related memory is connected "
    'to the new one with a short relation (e.g. "same event", "cause", "follow-up", "same person", "contrast"), and, '
    "where the new memory tells more about a related one, give that memory better tags and a better one-sentence context.\n"
    'Reply with only JSON, for example: {"links": [{"id": 1, "relation": "same event"}], '
    '"evolve": [{"id": 1, "tags": ["' + '", "'.join(_EXAMPLE_TAGS) + '"], "context": "' + _EXAMPLE_CONTEXT + '"}]}'
)


@dataclass(frozen=True)
class LinkPlan:
    """What the linker decided for one new note.

    Attributes:
        relations: Neighbour id -> relation label.
        evolve: Neighbour id -> (new tags, new context).
    """

    relations: dict[str, str]
    evolve: dict[str, tuple[list[str], str]]


class LLMLinker:
    """Relation labels and neighbour evolution by an LLM (stage 3), batched over new notes.

    Args:
        llm: The metered model.
    """

    def __init__(self, llm: MeteredLLM) -> None:
        self.llm = llm

    def plan(self, notes: Sequence[Note], neighbours: Sequence[Sequence[Note]]) -> list[LinkPlan | None]:
        """A plan per new note (None where the reply stayed invalid: similarity links are kept)."""
        prompts = []
        for note, near in zip(notes, neighbours):
            lines = [f"{_note_line(k + 1, nb)} (tags: {', '.join(nb.tags)}; context: {nb.context})" for k, nb in enumerate(near)]
            user = f"NEW: {_note_line(0, note)[4:]}\n\nRELATED:\n" + "\n".join(lines)
            prompts.append([{"role": "system", "content": _LINK_SYSTEM}, {"role": "user", "content": user}])

        def parse(text: str, k: int) -> LinkPlan:
            out = parse_reply(text, _LinksOut)
            near = neighbours[k]
            relations: dict[str, str] = {}
            evolve: dict[str, tuple[list[str], str]] = {}
            if out.links and not any(1 <= lk.id <= len(near) for lk in out.links):
                msg = f"no link id is one of the related memory numbers 1-{len(near)}"
                raise ReplyError(msg)
            for lk in out.links:
                if not 1 <= lk.id <= len(near):
                    self.llm.stage("link").rejected += 1
                    log.info("link: id %d rejected, not one of the related memory numbers 1-%d", lk.id, len(near))
                    continue
                rel = " ".join(lk.relation.split())[:40]
                relations[near[lk.id - 1].id] = rel if re.search(r"[A-Za-z]", rel) else "related"
            for ev in out.evolve:
                if not 1 <= ev.id <= len(near):
                    msg = f"evolve id {ev.id} is not one of the related memory numbers 1-{len(near)}"
                    raise ReplyError(msg)
                tags = _clean_list(ev.tags, 4)
                context = " ".join((ev.context or "").split())
                copied = context == _EXAMPLE_CONTEXT or bool({t.lower() for t in tags} & set(_EXAMPLE_TAGS))
                if not tags or not context or len(context) > MAX_FIELD or copied:
                    self.llm.stage("link").rejected += 1
                    log.info("link: evolution of memory %d rejected (empty tags or context, context too long, or the prompt's example)", ev.id)
                    continue
                evolve[near[ev.id - 1].id] = (tags, context)
            return LinkPlan(relations, evolve)

        return list(_ask(self.llm, "link", prompts, parse, prefix='{"links": [{"id": 1, "relation": "', max_new_tokens=200))


# ---------------------------------------------------------------------------- stage 4: answers
class _AnswerOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    answer: str
    used: list[int] = Field(default_factory=list)

    @field_validator("used", mode="before")
    @classmethod
    def _ints(cls, v: Any) -> Any:
        if isinstance(v, (int, str)):
            v = [v]
        if isinstance(v, list):
            return [int(x) for x in v if isinstance(x, int) or (isinstance(x, str) and x.strip().isdigit())]
        return v


_REFUSAL = re.compile(
    r"\b(not mentioned|no information|not (?:stated|specified|say|said|known|provided)|does not (?:say|mention)"
    r"|don't know|do not know|unknown|cannot (?:be )?(?:determined|answer))\b",
    re.IGNORECASE,
)
REFUSAL = "not mentioned"
"""What the answer agent says when the memories do not hold the answer."""

_ANSWER_SYSTEM = (
    "Answer the QUESTION from the numbered MEMORIES only, in a few words. If the memories do not contain the answer, the "
    f'answer is "{REFUSAL}". Reply with only JSON: {{"answer": "...", "used": [numbers of the memories you used]}}'
)


@dataclass(frozen=True)
class Answer:
    """The answer agent's reply.

    Attributes:
        text: The answer.
        used_ids: Notes the answer is based on (feed them to ``feedback``).
        refused: True when the memory does not hold the answer.
        valid_reply: False when the model's reply could not be parsed (the answer was salvaged).
    """

    text: str
    used_ids: list[str]
    refused: bool
    valid_reply: bool = True


def answer_messages(question: str, notes: Sequence[Note]) -> list[Message]:
    """The answer agent's prompt (shared with the answer trainer)."""
    lines = [_note_line(k + 1, n) for k, n in enumerate(notes)] or ["(none)"]
    return [{"role": "system", "content": _ANSWER_SYSTEM}, {"role": "user", "content": "MEMORIES:\n" + "\n".join(lines) + f"\n\nQUESTION: {question}"}]


def parse_answer(text: str, notes: Sequence[Note]) -> Answer:
    """Read an answer reply; a reply that is not JSON is salvaged as plain text, its notes found by word overlap."""
    try:
        out = parse_reply(text, _AnswerOut)
        answer, valid = " ".join(out.answer.split())[:MAX_FIELD], True
        used = [notes[u - 1].id for u in out.used if 1 <= u <= len(notes)]
    except ReplyError:
        salvage = re.sub(r'^\s*\{?\s*"?answer"?\s*:?\s*"?', "", text or "").split("\n")[0]
        answer, valid, used = salvage.strip(' "{}')[:MAX_FIELD], False, []
    refused = not answer or not notes or bool(_REFUSAL.search(answer))
    if refused:
        return Answer(REFUSAL, [], True, valid)
    if not used:  # distil: the notes that share words with the answer, else the top hit
        words = _content_words(answer)
        used = [n.id for n in notes if words & _content_words(n.content)][:3] or [notes[0].id]
    return Answer(answer, used, False, valid)


class AnswerAgent:
    """Answers questions from retrieved notes and names the notes it used (memory distillation).

    Args:
        llm: The metered model.
        max_new_tokens: Budget of an answer.
    """

    def __init__(self, llm: MeteredLLM, max_new_tokens: int = 64) -> None:
        self.llm = llm
        self.max_new_tokens = max_new_tokens

    def answer_many(self, questions: Sequence[str], notes: Sequence[Sequence[Note]]) -> list[Answer]:
        """Answers for several questions in one batched generation."""
        prompts = [answer_messages(q, ns) for q, ns in zip(questions, notes)]
        gens = self.llm.generate(prompts, stage="answer", max_new_tokens=self.max_new_tokens, prefix='{"answer": "')
        answers = [parse_answer(g.text, ns) for g, ns in zip(gens, notes)]
        self.llm.stage("answer").fallbacks += sum(not a.valid_reply for a in answers)
        return answers


# ---------------------------------------------------------------------------- stage 5: consolidation
def consolidate_prompt(question: str, answer: str, reward: float) -> list[Message]:
    """Prompt for an experience note from one (question, answer, reward)."""
    verdict = "was right" if reward > 0.5 else ("was wrong" if reward < 0 else "was partly right")
    user = f"QUESTION: {question}\nANSWER: {answer}\nThe answer {verdict} (reward {reward:+.2f}).\nWrite one sentence to remember for similar questions."
    return [{"role": "system", "content": "You write short lessons from experience, one sentence, no preamble."}, {"role": "user", "content": user}]


def experience_text(question: str, answer: str, reward: float, lesson: str | None) -> str:
    """The content of an experience note (the lesson when there is one, always with the exchange)."""
    verdict = "right" if reward > 0.5 else ("wrong" if reward < 0 else "partly right")
    core = f'Asked "{question}", the answer "{answer}" was {verdict} (reward {reward:+.2f}).'
    return f"{lesson} {core}" if lesson else core
