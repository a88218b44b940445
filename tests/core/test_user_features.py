"""Features users of Mem0 / LangMem expect: metadata filters, delete_all, progress, quiet loading."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asem_core import ASEM, InvalidInputError, matches_filter

FACTS = [
    {"text": "I moved to Lisbon last spring.", "timestamp": "2023-04-02", "metadata": {"speaker": "Caroline", "mood": 3}},
    {"text": "I adopted a cat named Miso.", "timestamp": "2023-06-10", "metadata": {"speaker": "Caroline", "mood": 5}},
    {"text": "I started learning the violin.", "timestamp": "2023-07-01", "metadata": {"speaker": "Melanie", "mood": 4}},
    {"text": "My sister lives in Porto.", "timestamp": "2022-12-24", "metadata": {"speaker": "Melanie", "mood": 2}},
]


@pytest.fixture()
def filled(mem: ASEM) -> ASEM:
    mem.add_many(FACTS, user_id="u")
    return mem


def _texts(hits) -> set[str]:
    return {h.note.content for h in hits}


def test_search_filters_on_metadata_and_time(filled: ASEM) -> None:
    assert _texts(filled.search("what happened?", user_id="u", filters={"speaker": "Caroline"})) == {FACTS[0]["text"], FACTS[1]["text"]}
    recent = filled.search("what happened?", user_id="u", filters={"speaker": "Caroline", "timestamp": {"$gte": "2023-05-01"}})
    assert _texts(recent) == {FACTS[1]["text"]}
    assert _texts(filled.search("music", user_id="u", filters={"mood": {"$gt": 3}})) == {FACTS[1]["text"], FACTS[2]["text"]}
    assert _texts(filled.search("x", user_id="u", filters={"$or": [{"mood": 2}, {"speaker": {"$in": ["Nobody"]}}]})) == {FACTS[3]["text"]}
    assert _texts(filled.search("x", user_id="u", filters={"speaker": {"$nin": ["Caroline"]}, "tags": {"$contains": "zzz"}})) == set()
    assert filled.search("x", user_id="u", filters={"speaker": "Nobody"}) == []
    # the best match inside the filter comes first, even when better notes exist outside it
    assert filled.search("Where does my sister live?", user_id="u", filters={"speaker": "Caroline"})[0].note.content != FACTS[3]["text"]


@pytest.mark.parametrize(
    "bad",
    [["speaker"], {"speaker": {"$regex": "C.*"}}, {"mood": {"$in": 3}}, {"$nor": []}, {"$and": "x"}, {1: "a"}],
)
def test_bad_filters_are_invalid_input(embedder, bad) -> None:
    memory = ASEM.ephemeral(embedder=embedder)
    memory.add("I live in Paris.", user_id="u")
    with pytest.raises(InvalidInputError):
        memory.search("x", user_id="u", filters=bad)


def test_filter_operators_compare_like_types() -> None:
    rec = {"n": 3, "t": "2023-05-08T13:56:00", "s": "abc", "tags": ["a", "b"]}
    assert matches_filter(rec.get, {"n": {"$gte": 3, "$lt": 4}})
    assert matches_filter(rec.get, {"t": {"$gt": "2023-05-08"}})  # times compare as instants
    assert not matches_filter(rec.get, {"s": {"$gt": 1}})  # a string is never > a number
    assert matches_filter(rec.get, {"tags": {"$contains": "a"}, "s": {"$contains": "B"}})


def test_delete_all_is_soft_and_scoped(mem: ASEM) -> None:
    mem.add_many(FACTS[:2], user_id="u", session_id="s1")
    mem.add_many(FACTS[2:], user_id="u")
    mem.add("I live in Oslo.", user_id="other")
    with pytest.raises(InvalidInputError, match="needs user_id"):
        mem.delete_all()
    ops = mem.delete_all(user_id="u")
    assert len(ops) == 4 and {o.op.value for o in ops} == {"DELETE"}
    assert mem.search("anything", user_id="u") == [] and mem.all(user_id="u") == []
    assert len(mem.all(user_id="u", include_invalid=True)) == 4
    assert all([v.op.value for v in mem.history(o.note_id, user_id="u")] == ["ADD", "DELETE"] for o in ops)
    assert [n.content for n in mem.all(user_id="other")] == ["I live in Oslo."]
    assert sorted(mem.scopes(), key=str) == sorted(
        [{"user_id": "u", "session_id": "s1", "notes": 0}, {"user_id": "u", "notes": 0}, {"user_id": "other", "notes": 1}], key=str
    )
    assert mem.delete_all(user_id="u") == []


def test_add_many_reports_progress(embedder) -> None:
    mem = ASEM.ephemeral(embedder=embedder)
    seen: list[tuple[int, int]] = []
    ops = mem.add_many([f"Fact number {i} is about topic {i}." for i in range(7)], user_id="p", progress=lambda d, t: seen.append((d, t)), chunk_size=3)
    assert len(ops) == 7 and seen == [(0, 7), (3, 7), (6, 7), (7, 7)]
    with pytest.raises(InvalidInputError, match="progress"):
        mem.add_many(["x"], user_id="p", progress="bar")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="chunk_size"):
        mem.add_many(["x"], user_id="p", progress=print, chunk_size=0)


def test_first_embedding_prints_no_progress_bars() -> None:
    code = "from asem_core import ASEM\nm = ASEM.ephemeral()\nm.add('I live in Paris.', user_id='u')\nprint(m.search('where?', user_id='u')[0].note.content)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": ""}, check=True, timeout=300)
    assert done.stdout.strip() == "I live in Paris."
    assert "Loading weights" not in done.stderr and "%|" not in done.stderr, done.stderr[-1000:]
