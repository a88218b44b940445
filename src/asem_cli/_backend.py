"""Where the CLI's calls go: an :class:`~asem_core.ASEM` in this process, or a running ``asem serve``.

Both answer in the wire format of :mod:`asem_server._models` (plain dicts), so each command
prints the same whether it ran locally or through the server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx

import asem_core
from asem_core import ASEM, ASEMError, StoreUnavailableError
from asem_server._models import ScopeArgs as Scope
from asem_server._models import hit_out, note_out, operation_out, version_out

__all__ = ["Backend", "Local", "Remote", "Scope"]


class Backend(Protocol):
    """What every command needs; :class:`Local` and :class:`Remote` implement it."""

    def add(self, text: str, timestamp: str | None, metadata: dict[str, Any] | None, scope: Scope) -> list[dict[str, Any]]:
        """Add one fact."""
        ...

    def add_many(self, items: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
        """Add a batch of facts."""
        ...

    def search(self, query: str, k: int, filters: dict[str, Any] | None, scope: Scope) -> list[dict[str, Any]]:
        """Search."""
        ...

    def feedback(self, reward: float, note_ids: list[str], scope: Scope) -> list[dict[str, Any]]:
        """Reward notes."""
        ...

    def notes(self, include_invalid: bool, scope: Scope) -> list[dict[str, Any]]:
        """Every note of a scope."""
        ...

    def get(self, note_id: str, scope: Scope) -> dict[str, Any]:
        """One note."""
        ...

    def delete(self, note_id: str, scope: Scope) -> dict[str, Any]:
        """Delete one note."""
        ...

    def delete_all(self, scope: Scope) -> list[dict[str, Any]]:
        """Delete every note of a scope."""
        ...

    def history(self, note_id: str, scope: Scope) -> list[dict[str, Any]]:
        """Every version of a note."""
        ...

    def stats(self, scope: Scope) -> dict[str, Any]:
        """Counts."""
        ...

    def scopes(self) -> list[dict[str, Any]]:
        """The scopes of the store with their note counts."""
        ...

    def export(self, path: Path, scope: Scope) -> int:
        """Write a JSONL export; returns the notes written."""
        ...

    def import_(self, path: Path) -> int:
        """Read a JSONL export; returns the notes imported."""
        ...


class Local:
    """Calls an :class:`~asem_core.ASEM` of this process."""

    def __init__(self, memory: ASEM) -> None:
        self.memory = memory

    def add(self, text: str, timestamp: str | None, metadata: dict[str, Any] | None, scope: Scope) -> list[dict[str, Any]]:
        return [operation_out(op).model_dump() for op in self.memory.add(text, timestamp=timestamp, metadata=metadata, **scope)]

    def add_many(self, items: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
        return [operation_out(op).model_dump() for op in self.memory.add_many(items, **scope)]

    def search(self, query: str, k: int, filters: dict[str, Any] | None, scope: Scope) -> list[dict[str, Any]]:
        return [hit_out(h).model_dump() for h in self.memory.search(query, k=k, filters=filters, **scope)]

    def feedback(self, reward: float, note_ids: list[str], scope: Scope) -> list[dict[str, Any]]:
        return [note_out(n).model_dump() for n in self.memory.feedback(reward, note_ids, **scope)]

    def notes(self, include_invalid: bool, scope: Scope) -> list[dict[str, Any]]:
        return [note_out(n).model_dump() for n in self.memory.all(include_invalid=include_invalid, **scope)]

    def get(self, note_id: str, scope: Scope) -> dict[str, Any]:
        return note_out(self.memory.get(note_id, **scope)).model_dump()

    def delete(self, note_id: str, scope: Scope) -> dict[str, Any]:
        return operation_out(self.memory.delete(note_id, **scope)).model_dump()

    def delete_all(self, scope: Scope) -> list[dict[str, Any]]:
        return [operation_out(op).model_dump() for op in self.memory.delete_all(**scope)]

    def history(self, note_id: str, scope: Scope) -> list[dict[str, Any]]:
        return [version_out(v).model_dump() for v in self.memory.history(note_id, **scope)]

    def stats(self, scope: Scope) -> dict[str, Any]:
        return self.memory.stats(**scope)

    def scopes(self) -> list[dict[str, Any]]:
        return self.memory.scopes()

    def export(self, path: Path, scope: Scope) -> int:
        return self.memory.export(path, **scope)

    def import_(self, path: Path) -> int:
        return self.memory.import_(path)


def _error(response: httpx.Response) -> ASEMError:
    """The ASEM error a server's error reply stands for (by its class name)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    name, detail = body.get("error"), body.get("detail", response.text)
    cls = getattr(asem_core, str(name), None)
    if isinstance(cls, type) and issubclass(cls, ASEMError):
        return cls(str(detail))
    return ASEMError(f"server answered {response.status_code}: {detail}")


class Remote:
    """Calls a running ``asem serve`` (its model is already loaded)."""

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 120.0) -> None:
        key = api_key if api_key is not None else os.environ.get("ASEM_API_KEY")
        self.client = httpx.Client(base_url=url.rstrip("/") + "/v1", headers={"X-API-Key": key} if key else {}, timeout=timeout)
        self.url = url

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None, content: bytes | None = None) -> Any:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            if content is not None:
                response = self.client.request(method, path, params=params, content=content, headers={"Content-Type": "application/x-ndjson"})
            else:
                response = self.client.request(method, path, params=params, json=body)
        except httpx.HTTPError as exc:
            msg = f"cannot reach asem serve at {self.url}: {exc}"
            raise StoreUnavailableError(msg) from exc
        if response.status_code >= 400:
            raise _error(response)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def add(self, text: str, timestamp: str | None, metadata: dict[str, Any] | None, scope: Scope) -> list[dict[str, Any]]:
        return list(self._call("POST", "/memories", body={"text": text, "timestamp": timestamp, "metadata": metadata, **scope}))

    def add_many(self, items: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
        return list(self._call("POST", "/memories/batch", body={"items": items, **scope}))

    def search(self, query: str, k: int, filters: dict[str, Any] | None, scope: Scope) -> list[dict[str, Any]]:
        return list(self._call("POST", "/search", body={"query": query, "k": k, "filters": filters, **scope}))

    def feedback(self, reward: float, note_ids: list[str], scope: Scope) -> list[dict[str, Any]]:
        return list(self._call("POST", "/feedback", body={"reward": reward, "note_ids": note_ids, **scope}))

    def notes(self, include_invalid: bool, scope: Scope) -> list[dict[str, Any]]:
        return list(self._call("GET", "/memories", params={"include_invalid": include_invalid, **scope}))

    def get(self, note_id: str, scope: Scope) -> dict[str, Any]:
        return dict(self._call("GET", f"/memories/{note_id}", params=scope))

    def delete(self, note_id: str, scope: Scope) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/memories/{note_id}", params=scope))

    def delete_all(self, scope: Scope) -> list[dict[str, Any]]:
        return list(self._call("DELETE", "/memories", params=scope))

    def history(self, note_id: str, scope: Scope) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/memories/{note_id}/history", params=scope))

    def stats(self, scope: Scope) -> dict[str, Any]:
        return dict(self._call("GET", "/stats", params=scope))

    def scopes(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/scopes"))

    def export(self, path: Path, scope: Scope) -> int:
        text = str(self._call("GET", "/export", params=scope))
        path.write_text(text, encoding="utf-8")
        return sum(1 for line in text.splitlines() if line.strip() and "note" in json.loads(line))

    def import_(self, path: Path) -> int:
        return int(self._call("POST", "/import", content=path.read_bytes())["imported"])
