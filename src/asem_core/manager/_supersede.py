"""Facts that change: when a newer fact replaces an older one of the same speaker about the same thing.

"I live in Berlin" and later "I just moved from Berlin to Munich" are the same slot with a new
value. Without an LLM the signs are generic English: the same speaker, close intents, a later
event time, both facts about the speaker (not about a relative or friend), and the newer one
announcing a change ("moved", "now", "no longer", "instead", "switched", ...) or restating the
same frame with a different object. The newer note gets a ``supersedes`` link to the older one
(and the older one a ``superseded_by`` link back); nothing is deleted, so the past stays
answerable, and retrieval ranks the newer note first for questions about the present.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._config import ASEMConfig
from .._text import about_someone_else, content_words
from .._types import SUPERSEDED_BY, SUPERSEDES, Note
from ._base import Fact, Neighbour

__all__ = ["SUPERSEDED_BY", "SUPERSEDES", "about_someone_else", "is_superseded", "superseded_neighbour"]

_CHANGE = re.compile(
    r"\b(now|these days|nowadays|any ?more|no longer|no more|instead|switched|switch|changed?|moved|relocated|new|renamed|quit|left|"
    r"gave up|took up|started|stopped|dropped|sold|traded|replaced|cancell?ed|broke up|correction|over)\b",
    re.IGNORECASE,
)
_ADDITIVE = re.compile(r"\b(also|too|another|as well|additionally|both|besides)\b", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(i|i'm|i've|i'd|i'll|me|my|mine|we|we're|we've|we'd|us|our)\b", re.IGNORECASE)


def is_superseded(note: Note) -> bool:
    """True when a newer note has replaced this one."""
    return any(link.relation == SUPERSEDED_BY for link in note.links)


_REPLACED = re.compile(r"\b(?:from|not|instead of|no more|quit|left|sold|cancell?ed|dropped|gave up|after)\s+(?:the |my |a |an )?([A-Z][\w-]*|\d[\d-]*)")


def _names_the_old_value(fact: Fact, old: Note) -> bool:
    """True when the fact names, as the value it replaces, a name or number of the old note ("moved from Initech to ...")."""
    return any(re.search(rf"\b{re.escape(m.group(1))}\b", old.content) for m in _REPLACED.finditer(fact.text))


def _replaces(fact: Fact, old: Note, similarity: float, config: ASEMConfig) -> bool:
    if fact.timestamp < old.timestamp:
        return False
    # a slot's value is a short statement; a long, chatty note holds more than the one value a newer fact replaces
    if max(len(content_words(fact.text)), len(content_words(old.content))) > config.supersede_max_words:
        return False
    if similarity < config.supersede_threshold and not (similarity > 0 and _names_the_old_value(fact, old)):
        return False
    if not (_FIRST_PERSON.search(fact.text) or _FIRST_PERSON.search(old.content)) and similarity < config.update_threshold:
        return False
    if about_someone_else(fact.text) or about_someone_else(old.content):
        return False
    if _CHANGE.search(fact.text):
        return True
    if _ADDITIVE.search(fact.text):  # "I also adopted a cat": a complement, not a new value
        return False
    new_words, old_words = content_words(fact.text), content_words(old.content)
    return similarity >= config.update_threshold and bool(new_words & old_words) and bool(new_words - old_words) and bool(old_words - new_words)


def superseded_neighbour(fact: Fact, neighbours: Sequence[Neighbour], config: ASEMConfig) -> Neighbour | None:
    """The neighbour the fact replaces, if any: same speaker, same slot, older; current notes first."""
    speaker = fact.speaker
    found = [nb for nb in neighbours if nb.note.speaker == speaker and _replaces(fact, nb.note, nb.similarity, config)]
    if not found:
        return None
    return max(found, key=lambda nb: (not is_superseded(nb.note), nb.similarity))
