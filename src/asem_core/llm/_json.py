"""Reading JSON out of LLM replies: find it, repair what can be repaired, validate with a schema.

Small local models put prose or code fences around JSON, stop mid-object when the token
budget runs out, use single quotes or Python literals, and leave trailing commas. What can be
repaired is; what cannot gives a reason that is shown to the model on its one retry and logged.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .._errors import LLMReplyError

__all__ = ["ReplyError", "extract_json", "parse_reply", "structure"]

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}


ReplyError = LLMReplyError
"""A reply that holds no usable JSON, or JSON that breaks the schema."""


def structure(text: str) -> tuple[list[tuple[int, str]], bool]:
    """The brackets of ``text`` outside string literals (position, char), and whether it ends inside a string."""
    out: list[tuple[int, str]] = []
    in_str = escaped = False
    for i, ch in enumerate(text):
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[]}":
            out.append((i, ch))
    return out, in_str


def _close(fragment: str) -> str:
    """Close the strings, arrays and objects left open by a truncated reply."""
    brackets, in_str = structure(fragment)
    stack: list[str] = []
    for _, ch in brackets:
        if ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif stack:
            stack.pop()
    out = fragment + ('"' if in_str else "")
    out = out.rstrip()
    # a dangling key or separator cannot be completed: drop it
    out = re.sub(r'(,\s*"[^"]*"\s*:?\s*|,\s*|:\s*)$', "", out)
    if out.endswith(":"):
        out = out[:-1]
    return out + "".join(reversed(stack))


def _balanced(text: str, start: int) -> str:
    """The JSON value starting at ``start``, up to its matching bracket (or the end of the text)."""
    depth = 0
    for i, ch in structure(text[start:])[0]:
        depth += 1 if ch in "{[" else -1
        if depth == 0:
            return text[start : start + i + 1]
    return text[start:]


def _variants(candidate: str) -> list[str]:
    fixed = _TRAILING_COMMA.sub(r"\1", candidate)
    out = [candidate, fixed, _close(fixed)]
    if "'" in fixed and '"' not in fixed:
        swapped = fixed.replace("'", '"')
        out += [swapped, _close(swapped)]
    lit = re.sub(r"\b(True|False|None)\b", lambda m: _PY_LITERALS[m.group(1)], fixed)
    if lit != fixed:
        out += [lit, _close(lit)]
    return out


def _first(source: str, kind: type, tries: int) -> Any:
    """The first value of ``kind`` (dict or list) that parses, repaired, from one of the first ``tries`` openers."""
    opener = "{" if kind is dict else "["
    for start in [i for i, ch in enumerate(source) if ch == opener][:tries]:
        for candidate in _variants(_balanced(source, start)):
            try:
                value = json.loads(candidate)
            except json.JSONDecodeError:
                continue
            if isinstance(value, kind):
                return value
    return None


def extract_json(text: str, expect: type = dict) -> Any:
    """The first JSON value of type ``expect`` (``dict`` or ``list``) in ``text``, repaired if needed.

    Raises:
        ReplyError: No JSON value of that type could be read.
    """
    if not isinstance(text, str) or not text.strip():
        msg = "empty reply"
        raise ReplyError(msg)
    sources = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for source in sources:
        value = _first(source, expect, 5)
        if value is None and expect is list:  # a lone object where a list was asked for
            obj = _first(source, dict, 3)
            value = [obj] if obj is not None else None
        if value is not None:
            return value
    kind = "object" if expect is dict else "array"
    msg = f"no JSON {kind} found in the reply"
    raise ReplyError(msg)


def parse_reply(text: str, schema: type[M]) -> M:
    """Parse and validate a reply against a pydantic ``schema`` (a JSON object).

    Raises:
        ReplyError: With a short, model-readable reason.
    """
    data = extract_json(text, dict)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "reply"
        msg = f"{where}: {first.get('msg', 'invalid')}"
        raise ReplyError(msg) from exc
