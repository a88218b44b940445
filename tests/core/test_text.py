import pytest

from asem_core import InvalidInputError, Scope
from asem_core._text import extract_keywords, lexical_tokens, normalize_timestamp, validate_text


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


def test_scope_validation_and_keys():
    assert Scope("u1").key != Scope("u2").key
    assert Scope("u1").key != Scope(None, "u1").key
    with pytest.raises(InvalidInputError, match="user_id"):
        Scope(user_id=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        Scope(user_id=" ")
