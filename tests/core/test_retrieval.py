"""Stage 4: the lexical index, z-scores and two-phase search."""

import numpy as np

from asem_core._retrieval import zscore
from asem_core.lexical import BM25Index


def test_bm25_ranks_and_forgets():
    index = BM25Index()
    index.add("a", "I adopted a dog named Buddy")
    index.add("b", "My sister plays the violin")
    index.add("c", "The weather was rainy")
    assert index.search("dog Buddy", 3)[0][0] == "a"
    index.remove("a")
    assert index.search("dog Buddy", 3) == []
    index.add("b", "violin lessons and a dog")
    assert [i for i, _ in index.search("dog", 3)] == ["b"]
    assert len(index) == 2


def test_zscore_guards_zero_spread():
    assert np.allclose(zscore(np.array([0.5, 0.5, 0.5])), 0.0)
    z = zscore(np.array([1.0, 2.0, 3.0]))
    assert z[0] < 0 < z[2]


def test_bm25_grows_past_its_first_arrays_and_keeps_lengths():
    index = BM25Index()
    for i in range(200):  # the length/liveness arrays start at 64 slots and double
        index.add(f"n{i}", f"note number {i} about " + ("violin " if i % 50 == 0 else "garden ") * (1 + i % 3))
    assert len(index) == 200
    assert {i for i, _ in index.search("violin", 10)} == {"n0", "n50", "n100", "n150"}
    index.remove("n50")
    index.add("n100", "now about the garden only")  # re-adding replaces
    assert {i for i, _ in index.search("violin", 10)} == {"n0", "n150"}
    assert len(index) == 199


def test_which_questions_are_about_the_present():
    from asem_core._retrieval import asks_about_the_present

    for q in ("Where do I live?", "What is my job now?", "Who does Caroline date these days?", "Which car do I have?"):
        assert asks_about_the_present(q), q
    for q in ("Where did I live before Munich?", "Did I ever live in Berlin?", "What was my job?", "What does Caroline do to relax?"):
        assert not asks_about_the_present(q), q
