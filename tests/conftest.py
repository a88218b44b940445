"""Shared fixtures: the real offline MiniLM embedder and real Chroma stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from asem_core import ASEM, SentenceTransformerEmbedder

LOCOMO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "locomo"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "demo_conversation.json"


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    emb = SentenceTransformerEmbedder()
    emb.embed(["warm up"])
    return emb


@pytest.fixture()
def mem(embedder: SentenceTransformerEmbedder) -> Iterator[ASEM]:
    yield ASEM.ephemeral(embedder=embedder)


@pytest.fixture()
def locomo_dir() -> Path:
    if not LOCOMO.is_dir():
        pytest.skip("LoCoMo data not found beside the checkout (../shared/data/locomo)")
    return LOCOMO
