"""What a store this process alone writes keeps in memory (scope counts, pool rows) is never stale."""

from __future__ import annotations

import numpy as np

from asem_core import ASEM
from asem_core._kept import ScopeCache
from asem_core._types import Note


def test_two_memories_on_one_folder_see_each_others_writes(embedder, tmp_path):
    a = ASEM(path=tmp_path, embedder=embedder)
    b = ASEM(path=tmp_path, embedder=embedder)
    a.add("I adopted a beagle called Rufus.", user_id="maya")
    assert "Rufus" in b.search("What is my dog called?", user_id="maya")[0].note.content
    b.add("My beagle Rufus died last winter; I now have a cat called Mochi.", user_id="maya")
    hits = a.search("What pet do I have?", user_id="maya", k=5)
    assert any("Mochi" in h.note.content for h in hits)  # a's kept count and rows were dropped by b's write
    assert a.stats(user_id="maya")["notes"] == b.stats(user_id="maya")["notes"]
    a.close()
    b.close()


def test_kept_rows_follow_feedback_and_edits_and_callers_cannot_change_them(embedder, tmp_path):
    mem = ASEM(path=tmp_path, embedder=embedder)
    mem.add_many(["I work as a nurse in Porto.", "I play chess on Sundays."], user_id="u")
    hit = mem.search("Where do I work?", user_id="u")[0]
    hit.note.content = "changed by the caller"
    hit.note.keywords.append("caller")
    again = mem.search("Where do I work?", user_id="u")[0]
    assert again.note.content == "I work as a nurse in Porto." and "caller" not in again.note.keywords
    mem.feedback(1.0, [again.note.id], user_id="u")
    rated = mem.search("Where do I work?", user_id="u")[0]
    assert rated.note.id == again.note.id and rated.utility > again.utility
    mem.update(again.note.id, "I work as a surgeon in Porto.", user_id="u")
    assert mem.search("Where do I work?", user_id="u")[0].note.content == "I work as a surgeon in Porto."
    mem.close()


def test_scope_cache_keeps_nothing_read_across_a_write():
    cache = ScopeCache(max_rows=2)
    gen = cache.generation("s", "u")
    cache.forget("s", "u")  # a write finished while the count was being read
    cache.put_count("s", "u", 3, gen)
    assert cache.count("s", "u") is None
    gen = cache.generation("s", "u")
    cache.put_count("s", "u", 3, gen)
    assert cache.count("s", "u") == 3
    note = Note(id="n1", content="x", timestamp="2023-05-08T10:00:00")
    cache.put_rows("s", "u", {"n1": (note, note_vec := np.ones(2, np.float32))}, gen)
    got = cache.rows("s", "u", ["n1", "n2"])
    assert list(got) == ["n1"] and got["n1"][0] is not note and (got["n1"][1] == note_vec).all()
    cache.put_rows("s", "v", {"a": (note, note_vec), "b": (note, note_vec)}, cache.generation("s", "v"))
    assert cache.rows("s", "u", ["n1"]) == {}  # the least recently used row went over max_rows
    gen = cache.generation("s", "v")
    cache.put_count("s", "v", 2, gen)
    cache.forget("s", "v", ["a"])  # a write of row "a": its row and the count go, row "b" stays
    assert cache.count("s", "v") is None and list(cache.rows("s", "v", ["a", "b"])) == ["b"]
    cache.reset("s")
    assert cache.count("s", "u") is None and cache.rows("s", "v", ["a", "b"]) == {}
