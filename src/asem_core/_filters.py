"""Metadata filters: the small query language of ``search(filters=...)`` and ``ASEMStore.search(filter=...)``.

A filter is a mapping ``{field: condition}``; every field must match. A condition is a plain
value (equality) or a mapping of operators: ``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``,
``$in``, ``$nin`` and ``$contains`` (a list field holds the value, or a text field holds the
substring). ``$and`` / ``$or`` take a list of filters. Ordering compares numbers as numbers,
times (ISO strings or dates) as instants, and other strings as strings; a value of another type
never matches an ordering operator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ._errors import InvalidInputError
from ._text import normalize_timestamp
from ._types import Note

__all__ = ["OPERATORS", "check_filters", "compare", "matches_filter", "note_field"]

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$contains")
_ORDER = {"$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b, "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b}
_NOTE_FIELDS = ("id", "content", "timestamp", "keywords", "tags", "context", "q", "uses", "created_at", "updated_at", "valid", "version", "source_ids")


def check_filters(filters: Any, where: str = "filters") -> dict[str, Any] | None:
    """Validate a filter before anything is read.

    Raises:
        InvalidInputError: Not a mapping of str keys, an unknown operator, ``$in`` without a list...
    """
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        msg = f"{where} must be a mapping such as {{'speaker': 'Caroline'}}, got {type(filters).__name__}"
        raise InvalidInputError(msg)
    for key, cond in filters.items():
        if not isinstance(key, str) or not key:
            msg = f"{where}: keys must be non-empty strings, got {key!r}"
            raise InvalidInputError(msg)
        if key in ("$and", "$or"):
            if not isinstance(cond, (list, tuple)) or not cond:
                msg = f"{where}: {key} takes a non-empty list of filters"
                raise InvalidInputError(msg)
            for i, sub in enumerate(cond):
                check_filters(sub, f"{where}.{key}[{i}]")
        elif key.startswith("$"):
            msg = f"{where}: unknown operator {key!r} at the top level (use $and or $or)"
            raise InvalidInputError(msg)
        elif isinstance(cond, Mapping) and any(str(op).startswith("$") for op in cond):
            for op, arg in cond.items():
                if op not in OPERATORS:
                    msg = f"{where}.{key}: unsupported operator {op!r} (use {', '.join(OPERATORS)})"
                    raise InvalidInputError(msg)
                if op in ("$in", "$nin") and not isinstance(arg, (list, tuple)):
                    msg = f"{where}.{key}: {op} takes a list, got {arg!r}"
                    raise InvalidInputError(msg)
    return dict(filters)


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime) or (isinstance(value, str) and value[:1].isdigit() and "-" in value):
        try:
            return datetime.fromisoformat(normalize_timestamp(value))
        except (InvalidInputError, ValueError):
            return None
    return None


def compare(value: Any, op: str, arg: Any) -> bool:
    """Apply one operator of :data:`OPERATORS` to a stored ``value``.

    Raises:
        InvalidInputError: ``op`` is not an operator of :data:`OPERATORS`.
    """
    if op == "$eq":
        return bool(value == arg)
    if op == "$ne":
        return bool(value != arg)
    if op == "$in":
        return any(value == a for a in arg)
    if op == "$nin":
        return all(value != a for a in arg)
    if op == "$contains":
        if isinstance(value, str):
            return isinstance(arg, str) and arg.lower() in value.lower()
        return isinstance(value, (list, tuple)) and arg in value
    if op not in _ORDER:
        msg = f"unsupported filter operator {op!r} (use {', '.join(OPERATORS)})"
        raise InvalidInputError(msg)
    numbers = (int, float)
    if isinstance(value, numbers) and isinstance(arg, numbers) and not isinstance(value, bool) and not isinstance(arg, bool):
        return bool(_ORDER[op](float(value), float(arg)))
    a, b = _instant(value), _instant(arg)
    if a is not None and b is not None:  # times (ISO strings, datetimes) compare as instants
        return bool(_ORDER[op](a, b))
    if isinstance(value, str) and isinstance(arg, str):
        return bool(_ORDER[op](value, arg))
    return False


def matches_filter(get: Callable[[str], Any], filters: Mapping[str, Any] | None) -> bool:
    """True when the record whose fields ``get(name)`` returns passes ``filters`` (None passes)."""
    if not filters:
        return True
    for key, cond in filters.items():
        if key == "$and":
            if not all(matches_filter(get, sub) for sub in cond):
                return False
            continue
        if key == "$or":
            if not any(matches_filter(get, sub) for sub in cond):
                return False
            continue
        value = get(key)
        if isinstance(cond, Mapping) and any(str(op).startswith("$") for op in cond):
            if not all(compare(value, op, arg) for op, arg in cond.items()):
                return False
        elif isinstance(cond, Mapping):
            if not isinstance(value, Mapping) or not matches_filter(value.get, cond):
                return False
        elif value != cond:
            return False
    return True


def note_field(note: Note, name: str) -> Any:
    """A field of a note for filtering: its metadata first (``speaker``...), then the note's own fields."""
    if name in note.metadata:
        return note.metadata[name]
    if name == "speaker":
        return note.speaker
    if name in _NOTE_FIELDS:
        return getattr(note, name)
    return None
