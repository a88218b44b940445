import math

import numpy as np
import pytest

from asem_core import ASEMConfig, BM25Index, ConfigError, InvalidInputError, Scope, zscore
from asem_core._text import extract_keywords, lexical_tokens, normalize_timestamp, validate_text


def test_config_defaults_follow_the_literature():
    cfg = ASEMConfig()
    assert (cfg.k1, cfg.k2, cfg.delta, cfg.lam, cfg.alpha, cfg.q0) == (20, 5, 0.30, 0.40, 0.10, 0.50)


@pytest.mark.parametrize(("field", "value"), [("lam", 1.5), ("alpha", -0.1), ("k1", 0), ("k2", 2.5), ("delta", math.nan), ("fusion", "max"), ("q0", "high")])
def test_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        ASEMConfig(**{field: value})


def test_config_replace_rejects_unknown_fields():
    with pytest.raises(ConfigError, match="nope"):
        ASEMConfig().replace(nope=1)


def test_timestamps_in_common_forms():
    assert normalize_timestamp("1:56 pm on 8 May, 2023") == "2023-05-08T13:56:00"
    assert normalize_timestamp("2023-05-08T13:56:00") == "2023-05-08T13:56:00"
    assert normalize_timestamp("2023-05-08T13:56:00+02:00") == "2023-05-08T11:56:00"
    assert normalize_timestamp(0) == "1970-01-01T00:00:00"
    with pytest.raises(InvalidInputError, match="not a date"):
        normalize_timestamp("not a date at all, zzz")
    with pytest.raises(InvalidInputError):
        normalize_timestamp([2023])  # type: ignore[arg-type]


def test_keywords_prefer_names_and_content_words():
    kws = extract_keywords("Yesterday I adopted a rescue puppy and named him Biscuit.")
    assert kws[0] == "biscuit"
    assert "the" not in kws and "and" not in kws
    assert extract_keywords("ok ok") != []


def test_lexical_tokens_stem_and_drop_stopwords():
    assert lexical_tokens("The dogs were running to the parks") == ["dog", "run", "park"]


@pytest.mark.parametrize("bad", ["", "   \n", 42, None, b"\xff\xfe", "x" * 200_001, "bad \ud800 surrogate"])
def test_validate_text_rejects(bad):
    with pytest.raises(InvalidInputError):
        validate_text(bad, 200_000)


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


def test_scope_validation_and_keys():
    assert Scope("u1").key != Scope("u2").key
    assert Scope("u1").key != Scope(None, "u1").key
    with pytest.raises(InvalidInputError, match="user_id"):
        Scope(user_id=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        Scope(user_id=" ")


def test_a_turn_without_words_still_gets_keywords(embedder):
    from asem_core._enrich import HeuristicEnricher

    enricher = HeuristicEnricher(embedder)
    texts = [";)", ":-)", "Great news about Buddy!"]
    intents = embedder.embed(texts)
    out = enricher.enrich(texts, ["2023-05-08T13:56:00"] * 3, ["Caroline", None, "Jon"], intents)
    assert out[0].keywords == ["caroline"]  # the speaker
    assert out[1].keywords == out[1].tags[:1] and out[1].keywords  # no speaker: the first tag
    assert "buddy" in out[2].keywords
    assert all(e.keywords and e.tags and e.context for e in out)


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
