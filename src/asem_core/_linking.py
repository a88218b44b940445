"""Stage 3, links and evolution: a new note is linked to its nearest notes and the note before it.

Without an LLM the links are "similar" (intent similarity above ``link_threshold``) and
"follows" (the previous item of the batch). With an LLM, :class:`LLMLinker` labels the new
links with free-form relations and revises the neighbours' tags and context (a new EVOLVE
version, re-embedded).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._config import ASEMConfig
from ._prompt import data_text, note_line
from ._types import Note, OpType
from ._write import WritePlan
from .llm import MAX_FIELD, Message, MeteredLLM, ReplyError, ask, clean_list, log, parse_reply

__all__ = ["LLMLinker", "LinkJob", "LinkPlan", "evolve", "link_messages", "link_new_note"]

LinkJob = tuple[str, list[str], float]
"""A new note, the neighbours it was linked to by similarity, and its nearest similarity (its priority for the LLM)."""


def link_new_note(plan: WritePlan, note_id: str, near: Sequence[tuple[str, float]], config: ASEMConfig, previous: str | None) -> LinkJob | None:
    """Link a new note to its nearest notes ("similar") and to the item before it ("follows").

    Args:
        plan: The batch's write plan.
        note_id: The new note.
        near: Its neighbours (note id, intent similarity), most similar first.
        config: ``link_k``, ``link_threshold`` and ``llm_link_gate``.
        previous: The note of the previous item of the batch, when items are adjacent turns.

    Returns:
        A job for the LLM linker when the note has a neighbour above ``llm_link_gate``.
    """
    linked = [nid for nid, sim in near[: config.link_k] if sim >= config.link_threshold and nid != note_id]
    for nid in linked:
        plan.link(note_id, nid, "similar")
    if previous is not None and previous != note_id:
        plan.link(note_id, previous, "follows")
    if linked and near[0][1] >= config.llm_link_gate:
        return (note_id, linked, near[0][1])
    return None


def evolve(plan: WritePlan, linker: LLMLinker, jobs: Sequence[LinkJob]) -> None:
    """Stage 3 with an LLM: label the new links and revise the neighbours' tags and context."""
    current = plan.current
    plans = linker.plan([current(n) for n, _, _ in jobs], [[current(o) for o in others] for _, others, _ in jobs], [s for _, _, s in jobs])
    for (note_id, _, _), link_plan in zip(jobs, plans):
        if link_plan is None:
            continue
        for other, relation in link_plan.relations.items():
            plan.relabel(note_id, other, relation)
        for other, (tags, context) in link_plan.evolve.items():
            if other in plan.versions:  # a note made or changed in this batch keeps its version
                note = plan.edit(other)
            else:
                note = plan.change(other, OpType.EVOLVE, f"tags/context revised after new note {note_id}", reembed=True)
            note.tags, note.context = tags, context


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


def link_messages(note: Note, near: Sequence[Note]) -> list[Message]:
    """The link/evolution prompt for a new note and its numbered neighbours (their texts escaped as data)."""
    lines = [f"{note_line(k + 1, nb)} (tags: {data_text(', '.join(nb.tags), 200)}; context: {data_text(nb.context, 200)})" for k, nb in enumerate(near)]
    user = f"NEW: {note_line(0, note)[4:]}\n\nRELATED:\n" + "\n".join(lines)
    return [{"role": "system", "content": _LINK_SYSTEM}, {"role": "user", "content": user}]


class LLMLinker:
    """Relation labels and neighbour evolution by an LLM (stage 3), batched over new notes.

    Args:
        llm: The metered model.
    """

    def __init__(self, llm: MeteredLLM) -> None:
        self.llm = llm

    def plan(self, notes: Sequence[Note], neighbours: Sequence[Sequence[Note]], priority: Sequence[float] | None = None) -> list[LinkPlan | None]:
        """A plan per new note (None where the reply stayed invalid or the call budget was spent: similarity links are kept).

        ``priority`` (e.g. the similarity of each note's nearest neighbour) decides which notes
        are asked about first when the ingest call budget is short.
        """
        prompts = [link_messages(note, near) for note, near in zip(notes, neighbours)]

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
                tags = clean_list(ev.tags, 4)
                context = " ".join((ev.context or "").split())
                copied = context == _EXAMPLE_CONTEXT or bool({t.lower() for t in tags} & set(_EXAMPLE_TAGS))
                if not tags or not context or len(context) > MAX_FIELD or copied:
                    self.llm.stage("link").rejected += 1
                    log.info("link: evolution of memory %d rejected (empty tags or context, context too long, or the prompt's example)", ev.id)
                    continue
                evolve[near[ev.id - 1].id] = (tags, context)
            return LinkPlan(relations, evolve)

        return list(ask(self.llm, "link", prompts, parse, prefix='{"links": [{"id": 1, "relation": "', max_new_tokens=200, priority=priority))
