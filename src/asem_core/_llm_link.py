"""Stage 3 by an LLM: relation labels to neighbours and their evolved tags/context."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._llm import MeteredLLM
from ._llm_common import MAX_FIELD, ask, clean_list, log, note_line
from ._llm_json import ReplyError, parse_reply
from ._types import Note

__all__ = ["LLMLinker", "LinkPlan"]


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

    def plan(self, notes: Sequence[Note], neighbours: Sequence[Sequence[Note]], priority: Sequence[float] | None = None) -> list[LinkPlan | None]:
        """A plan per new note (None where the reply stayed invalid or the call budget was spent: similarity links are kept).

        ``priority`` (e.g. the similarity of each note's nearest neighbour) decides which notes
        are asked about first when the ingest call budget is short.
        """
        prompts = []
        for note, near in zip(notes, neighbours):
            lines = [f"{note_line(k + 1, nb)} (tags: {', '.join(nb.tags)}; context: {nb.context})" for k, nb in enumerate(near)]
            user = f"NEW: {note_line(0, note)[4:]}\n\nRELATED:\n" + "\n".join(lines)
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
