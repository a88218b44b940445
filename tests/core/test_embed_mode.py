"""The joint-vector recipe: composed by default (one pass per fact), recorded in the store, one per store."""

from __future__ import annotations

import numpy as np
import pytest

from asem_core import ASEM, ConfigError
from asem_core._journal import DUMMY
from asem_core._types import Note
from asem_core._vectors import VectorCache, composed_joint, context_piece

TURNS = [
    ("I adopted a beagle called Rufus.", "Maya"),
    ("I work as a nurse in Porto.", "Maya"),
    ("I play chess on Sundays.", "Maya"),
    ("My brother Leo moved to Oslo.", "Maya"),
    ("I am learning the cello.", "Jon"),
]


def _items(turns=TURNS):
    return [{"text": t, "timestamp": "2023-05-08T10:00:00", "metadata": {"speaker": s}} for t, s in turns]


def _note(content, context="", speaker=None):
    return Note(id=content, content=content, timestamp="2023-05-08T10:00:00", context=context, metadata={"speaker": speaker} if speaker else {})


def test_vector_cache_embeds_each_text_once_and_keeps_the_newest(embedder):
    calls: list[list[str]] = []

    def embed(texts):
        calls.append(list(texts))
        return embedder.embed(texts)

    cache = VectorCache(limit=2)
    first = cache.vectors(["a cat", "a dog", "a cat"], embed)
    assert calls == [["a cat", "a dog"]]  # a repeat in one call is embedded once
    assert np.allclose(first[0], first[2]) and np.allclose(first[0], embedder.embed(["a cat"])[0], atol=1e-5)
    cache.vectors(["a dog"], embed)
    assert len(calls) == 1  # cached
    cache.vectors(["a bird"], embed)  # over the limit: the least recently used ("a cat") goes
    assert len(cache) == 2
    cache.vectors(["a cat"], embed)
    assert calls[-1] == ["a cat"]


def test_composed_joint_adds_the_context_line_to_the_raw_vector(embedder):
    notes = [_note("I adopted a beagle.", "Maya on 8 May 2023", "Maya"), _note("No context here.")]
    assert context_piece(notes[0]) == "Context: Maya on 8 May 2023"
    assert context_piece(_note("x", speaker="Jon")) == "Context: Jon"
    assert context_piece(notes[1]) == ""
    raw = embedder.embed([n.content for n in notes])
    joint = composed_joint(raw, notes, VectorCache(10), embedder.embed)
    expected = raw[0] + embedder.embed(["Context: Maya on 8 May 2023"])[0]
    assert np.allclose(joint[0], expected / np.linalg.norm(expected), atol=1e-5)
    assert np.allclose(joint[1], raw[1], atol=1e-6)  # no context line: the raw vector
    assert np.allclose(np.linalg.norm(joint, axis=1), 1.0, atol=1e-5)


def test_a_new_store_composes_joint_vectors_with_one_pass_per_fact(embedder):
    mem = ASEM.ephemeral(embedder=embedder)
    assert mem.config.embed_mode == "composed"
    mem.add_many(_items(), user_id="maya")
    # five texts + two context lines (Maya's and Jon's on that day), not five joint texts on top
    assert mem.stats(user_id="maya")["embedded_texts"] == 7
    assert "beagle" in mem.search("What dog does Maya have?", user_id="maya")[0].note.content
    assert "cello" in mem.search("What instrument is Jon learning?", user_id="maya")[0].note.content
    mem.add_many(_items([("I bought a red bicycle.", "Maya")]), user_id="maya")
    assert mem.stats(user_id="maya")["embedded_texts"] == 7 + 2 + 1  # two queries, then one text: Maya's line is cached


def test_the_recipe_is_recorded_in_the_store_and_a_different_one_is_refused(embedder, tmp_path):
    path = tmp_path / "store"
    mem = ASEM(path=path, embedder=embedder, embed_mode="joint")
    mem.add_many(_items(), user_id="maya")
    kept = len(mem.all(user_id="maya"))
    mem.close()
    mem = ASEM(path=path, embedder=embedder)  # unset: the store's recipe
    assert mem.config.embed_mode == "joint"
    mem.close()
    with pytest.raises(ConfigError, match=r"embed_mode='joint', not 'composed'.*export it"):
        ASEM(path=path, embedder=embedder, embed_mode="composed")
    mem = ASEM(path=path, embedder=embedder, embed_mode="joint")  # the refused open released the store
    assert len(mem.all(user_id="maya")) == kept
    mem.export(tmp_path / "maya.jsonl", user_id="maya")
    mem.close()
    fresh = ASEM(path=tmp_path / "new", embedder=embedder, embed_mode="composed")
    assert fresh.import_(tmp_path / "maya.jsonl") == kept  # import re-embeds with the new store's recipe
    assert "beagle" in fresh.search("What dog does Maya have?", user_id="maya")[0].note.content
    fresh.close()


def test_a_store_written_before_the_recipe_was_recorded_holds_joint_vectors(embedder, tmp_path):
    path = tmp_path / "old"
    mem = ASEM(path=path, embedder=embedder, embed_mode="joint")
    mem.add_many(_items(), user_id="maya")
    schema = {k: v for k, v in mem.store._schema.items() if k != "embed_mode"}
    mem.store._meta.delete(ids=["schema"])  # as an earlier ASEM wrote it: no recipe recorded
    mem.store._meta.add(ids=["schema"], embeddings=[DUMMY], metadatas=[schema])
    mem.close()
    mem = ASEM(path=path, embedder=embedder)
    assert mem.config.embed_mode == "joint"
    assert mem.store._schema["embed_mode"] == "joint"
    mem.close()
