"""Note construction without an LLM: keywords, tags, context line and the texts to embed."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._embedder import Embedder
from ._text import extract_keywords, human_date

__all__ = ["TAG_VOCABULARY", "Enrichment", "HeuristicEnricher", "joint_text", "lexical_text"]

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
