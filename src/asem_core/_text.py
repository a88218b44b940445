"""Text utilities without an LLM: tokenising, stemming, keywords, timestamps."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from functools import lru_cache

import snowballstemmer
from dateutil import parser as dateparser

from ._errors import InvalidInputError

__all__ = [
    "STOPWORDS",
    "about_someone_else",
    "clip",
    "content_words",
    "extract_keywords",
    "human_date",
    "lexical_tokens",
    "merge_texts",
    "normalize_timestamp",
    "now_iso",
    "require_unicode",
    "validate_text",
]

STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during
    each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's
    hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me
    more most mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own
    same shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's
    which while who who's whom why why's with won't would wouldn't you you'd you'll you're you've your yours
    yourself yourselves also just really yeah yes oh hey hi hello ok okay thanks thank lot much many like get
    got im ive id dont doesnt didnt cant wont isnt thats whats its u ur gonna wanna one will would could might
    s t d ll m re ve""".split()
)

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def lexical_tokens(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed tokens for the lexical (BM25) channel.

    Args:
        text: Any text.

    Returns:
        The tokens in order of appearance (repeats kept).
    """
    out: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group(0).lower().replace("’", "'")
        if word in STOPWORDS:
            continue
        word = word.split("'", 1)[0]
        if not word or word in STOPWORDS:
            continue
        out.append(_stem(word))
    return out


def extract_keywords(text: str, limit: int = 8) -> list[str]:
    """Pick salient words of a text without an LLM.

    Proper nouns and long content words rank first; stop words and repeats are dropped.

    Args:
        text: The note content.
        limit: At most this many keywords.

    Returns:
        Keywords in lower case, most salient first; never empty for text that has any word.
    """
    scored: dict[str, float] = {}
    words = [m.group(0) for m in _WORD.finditer(text)]
    for i, word in enumerate(words):
        low = word.lower().split("'", 1)[0].split("’", 1)[0]
        if low in STOPWORDS or len(low) < 3 or (low.isdigit() and len(low) != 4):
            continue
        score = min(len(low), 10) / 10.0
        if word[0].isupper() and i > 0:
            score += 1.0  # a capitalised word inside a sentence: likely a name or title
        if low.isdigit():
            score += 0.5  # a year
        scored[low] = max(scored.get(low, 0.0), score)
    if not scored:
        scored = {w.lower(): 0.0 for w in words[:limit]}
    ranked = sorted(scored.items(), key=lambda kv: -kv[1])
    return [w for w, _ in ranked[:limit]]


def now_iso() -> str:
    """The current UTC time as an ISO string without microseconds."""
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()


def normalize_timestamp(value: str | datetime | float | int | None, what: str = "timestamp") -> str:
    """Turn a timestamp into a naive-UTC ISO string.

    Accepts ISO 8601 strings, ``datetime`` objects, POSIX seconds, and dates written out in
    words that parse completely (e.g. LoCoMo's ``"1:56 pm on 8 May, 2023"``). ``None`` means now.
    Text with words that are not part of a date (``"banana 12"``) and time-zone names that
    cannot be resolved (``"... PST"``) are refused rather than guessed.

    Raises:
        InvalidInputError: The value is not a time, or lies outside the years 1-9999 in UTC.
    """
    if value is None:
        return now_iso()
    if isinstance(value, bool):
        msg = f"{what} must be a string, datetime or number, got bool"
        raise InvalidInputError(msg)
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)):
        try:
            dt = datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            msg = f"{what} {value!r} is not a valid POSIX time"
            raise InvalidInputError(msg) from exc
    elif isinstance(value, str):
        dt = _parse_time_text(value, what)
    else:
        msg = f"{what} must be a string, datetime or number, got {type(value).__name__}"
        raise InvalidInputError(msg)
    if dt.tzinfo is not None:
        try:
            dt = dt.astimezone(UTC).replace(tzinfo=None)
        except (OverflowError, ValueError) as exc:
            msg = f"{what} {value!r} falls outside the years 1-9999 once converted to UTC"
            raise InvalidInputError(msg) from exc
    return dt.replace(microsecond=0).isoformat()


def _parse_time_text(value: str, what: str) -> datetime:
    text = value.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    if len(text) > 100 or not any(ch.isdigit() for ch in text):
        msg = f"{what} {value!r} is not an ISO 8601 time or a date"
        raise InvalidInputError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", dateparser.UnknownTimezoneWarning)
            cleaned = text.replace(" on ", " ")
            first = dateparser.parse(cleaned, fuzzy=False, default=datetime(2000, 1, 1))
            second = dateparser.parse(cleaned, fuzzy=False, default=datetime(2001, 2, 2))
    except (ValueError, OverflowError, dateparser.UnknownTimezoneWarning) as exc:
        msg = f"{what} {value!r} is not an ISO 8601 time or a date (words that are not part of a date, or an unknown time zone)"
        raise InvalidInputError(msg) from exc
    if first.date() != second.date():  # day, month or year missing: it would be guessed
        msg = f"{what} {value!r} is not a complete date (give day, month and year, or an ISO 8601 time)"
        raise InvalidInputError(msg)
    return first


def human_date(iso: str) -> str:
    """Render an ISO time as e.g. ``"8 May 2023 (Monday)"`` for context lines."""
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{dt.day} {dt:%B %Y} ({dt:%A})"


def validate_text(text: object, max_chars: int, what: str = "text") -> str:
    """Check that a fact is a non-empty string of reasonable size.

    Raises:
        InvalidInputError: Not a string, empty or whitespace only, too long, or not valid Unicode.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"{what} is bytes that are not valid UTF-8"
            raise InvalidInputError(msg) from exc
    if not isinstance(text, str):
        msg = f"{what} must be a string, got {type(text).__name__}"
        raise InvalidInputError(msg)
    if not text.strip():
        msg = f"{what} is empty or whitespace only"
        raise InvalidInputError(msg)
    if len(text) > max_chars:
        msg = f"{what} has {len(text)} characters; the limit is {max_chars} (ASEMConfig.max_text_chars)"
        raise InvalidInputError(msg)
    require_unicode(text, what)
    return text


def require_unicode(text: str, what: str) -> None:
    """Raise :class:`InvalidInputError` naming ``what`` when ``text`` holds lone surrogates (it could not be stored)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = f"{what} is not valid Unicode (lone surrogates)"
        raise InvalidInputError(msg) from exc


_WORDS = re.compile(r"[a-z0-9']+")


def content_words(text: str) -> set[str]:
    """The lower-cased words of ``text`` that are not stopwords (the manager's notion of content)."""
    return {w for w in _WORDS.findall(text.lower()) if w not in STOPWORDS}


def merge_texts(old: str, new: str) -> str:
    """Content that keeps both facts: the new one alone when it already contains the old words."""
    old_words = set(_WORDS.findall(old.lower()))
    new_words = set(_WORDS.findall(new.lower()))
    if old_words and old_words <= new_words:
        return new
    return f"{old.rstrip()} {new.strip()}"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


_FIRST_SUBJECT = re.compile(r"\b(i|i'm|i've|i'd|i'll|we|we're|we've|we'd)\b", re.IGNORECASE)
# people a speaker talks about (an English lexicon, like the stopword list; not tied to any data set)
_PEOPLE = (
    "brother|sister|sibling|mom|mum|mother|dad|father|parents?|son|daughter|kids?|children|child|wife|husband|"
    "girlfriend|boyfriend|fianc[eé]e?|friend|cousin|aunt|uncle|niece|nephew|grandma|grandmother|grandpa|grandfather|"
    "grandparents?|neighbou?r|colleague|co-?worker|boss|manager|roommate|flatmate|housemate|mentor|teacher|coach|"
    "classmate|buddy|pal|family|in-laws?"
)
_SOMEONE = re.compile(rf"(?i:\b(?:my|our)\s+(?:(?:best|older|younger|little|big|old|new|ex|step)[- ]?)?(?:{_PEOPLE})s?(?:'s)?\b)(?!\s+(?:is|was)\s+[A-Z])")


def about_someone_else(text: str) -> bool:
    """True when the fact's subject is another person ("My brother lives in Paris"), not the speaker."""
    match = _SOMEONE.search(text)
    return match is not None and not _FIRST_SUBJECT.search(text[: match.start()])
