"""Stage 1: note construction without an LLM."""

from asem_core._construction import HeuristicEnricher


def test_a_turn_without_words_still_gets_keywords(embedder):
    enricher = HeuristicEnricher(embedder)
    texts = [";)", ":-)", "Great news about Buddy!"]
    intents = embedder.embed(texts)
    out = enricher.enrich(texts, ["2023-05-08T13:56:00"] * 3, ["Caroline", None, "Jon"], intents)
    assert out[0].keywords == ["caroline"]  # the speaker
    assert out[1].keywords == out[1].tags[:1] and out[1].keywords  # no speaker: the first tag
    assert "buddy" in out[2].keywords
    assert all(e.keywords and e.tags and e.context for e in out)
