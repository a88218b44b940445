"""``asem serve``: the REST API and the memory inspector, one FastAPI app over one :class:`~asem_core.ASEM`."""

from __future__ import annotations

import hmac
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from asem_core import (
    ASEM,
    ASEMError,
    ConfigError,
    InvalidInputError,
    LLMReplyError,
    ModelLoadError,
    NoteNotFoundError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)

from ._models import (
    AddManyRequest,
    AddRequest,
    FeedbackRequest,
    HitOut,
    NoteOut,
    OperationOut,
    ScopeFields,
    SearchRequest,
    UpdateRequest,
    VersionOut,
    hit_out,
    note_out,
    operation_out,
    version_out,
)

__all__ = ["STATUS", "create_app"]

STATIC = Path(__file__).resolve().parent / "static"
STATUS: dict[type[ASEMError], int] = {
    InvalidInputError: 400,
    ConfigError: 400,
    NoteNotFoundError: 404,
    StoreLockedError: 423,
    StoreUnavailableError: 503,
    StoreError: 503,
    LLMReplyError: 502,
    ModelLoadError: 500,
}
"""HTTP status of each ASEM error (the most specific class wins; other ASEM errors are 500)."""


def status_of(exc: ASEMError) -> int:
    """The HTTP status code of an ASEM error."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _scope(
    user_id: Annotated[str | None, Query(description="Scope: user.")] = None,
    agent_id: Annotated[str | None, Query(description="Scope: agent.")] = None,
    session_id: Annotated[str | None, Query(description="Scope: session.")] = None,
) -> ScopeFields:
    return ScopeFields(user_id=user_id, agent_id=agent_id, session_id=session_id)


Scoped = Annotated[ScopeFields, Depends(_scope)]


def create_app(memory: ASEM, *, api_key: str | None = None) -> FastAPI:
    """The FastAPI app of ``asem serve``.

    Args:
        memory: The memory served (one model load per process: every request shares it).
        api_key: When set, every ``/v1`` request must carry it (``X-API-Key: KEY`` or
            ``Authorization: Bearer KEY``), and listing the store's scopes is allowed. Without
            it, a scope is read only by naming its ids and nothing lists other scopes.

    Returns:
        The app: the API under ``/v1``, OpenAPI at ``/openapi.json``, the inspector at ``/``.
    """
    if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
        msg = "api_key must be a non-empty string or None"
        raise ConfigError(msg)

    def check_key(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization") or ""
        if not given and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not hmac.compare_digest(given.encode(), api_key.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong API key (send X-API-Key or Authorization: Bearer)")

    app = FastAPI(
        title="ASEM",
        version="0.1.0",
        description="Agentic self-evolving memory: REST API and memory inspector.",
        docs_url=None,  # served below from the package's own Swagger UI files (no CDN)
        redoc_url=None,
    )
    api = APIRouter(prefix="/v1", dependencies=[Depends(check_key)])

    @app.exception_handler(ASEMError)
    async def _asem_error(_: Request, exc: ASEMError) -> JSONResponse:
        return JSONResponse(status_code=status_of(exc), content={"error": type(exc).__name__, "detail": str(exc)})

    @api.post("/memories", response_model=list[OperationOut], summary="Add one fact")
    def add(body: AddRequest) -> list[OperationOut]:
        return [operation_out(op) for op in memory.add(body.text, timestamp=body.timestamp, metadata=body.metadata, **body.scope())]

    @api.post("/memories/batch", response_model=list[OperationOut], summary="Add many facts in one batch")
    def add_many(body: AddManyRequest) -> list[OperationOut]:
        return [operation_out(op) for op in memory.add_many(body.items, link_adjacent=body.link_adjacent, **body.scope())]

    @api.post("/search", response_model=list[HitOut], summary="Two-phase, value-aware search")
    def search(body: SearchRequest) -> list[HitOut]:
        hits = memory.search(body.query, k=body.k, min_similarity=body.min_similarity, filters=body.filters, **body.scope())
        return [hit_out(h) for h in hits]

    @api.post("/feedback", response_model=list[NoteOut], summary="Reward the notes used in an answer")
    def feedback(body: FeedbackRequest) -> list[NoteOut]:
        return [note_out(n) for n in memory.feedback(body.reward, body.note_ids, **body.scope())]

    @api.get("/memories", response_model=list[NoteOut], summary="Every note of a scope and those beneath it")
    def list_notes(scope: Scoped, include_invalid: bool = False) -> list[NoteOut]:
        return [note_out(n) for n in memory.all(include_invalid=include_invalid, **scope.scope())]

    @api.delete("/memories", response_model=list[OperationOut], summary="Delete every note of a scope (soft)")
    def delete_all(scope: Scoped) -> list[OperationOut]:
        return [operation_out(op) for op in memory.delete_all(**scope.scope())]

    @api.get("/memories/{note_id}", response_model=NoteOut, summary="One note")
    def get(note_id: str, scope: Scoped) -> NoteOut:
        return note_out(memory.get(note_id, **scope.scope()))

    @api.put("/memories/{note_id}", response_model=OperationOut, summary="Replace a note's content (new version)")
    def update(note_id: str, body: UpdateRequest) -> OperationOut:
        return operation_out(memory.update(note_id, body.text, reason=body.reason, metadata=body.metadata, **body.scope()))

    @api.delete("/memories/{note_id}", response_model=OperationOut, summary="Delete a note (soft: it stays in the history)")
    def delete(note_id: str, scope: Scoped) -> OperationOut:
        return operation_out(memory.delete(note_id, **scope.scope()))

    @api.get("/memories/{note_id}/history", response_model=list[VersionOut], summary="Every version of a note")
    def history(note_id: str, scope: Scoped) -> list[VersionOut]:
        return [version_out(v) for v in memory.history(note_id, **scope.scope())]

    @api.get("/memories/{note_id}/utility", summary="The note's utility q after each feedback")
    def utility(note_id: str, scope: Scoped) -> list[dict[str, Any]]:
        first = memory.history(note_id, **scope.scope())[0]
        rows = [r for r in memory.operations(**scope.scope()) if r.get("note_id") == note_id and r.get("op") == "FEEDBACK"]
        return [{"at": first.at, "q": first.note.q, "reward": None}] + [{"at": r["at"], "q": r["q"], "reward": r["reward"]} for r in rows]

    @api.get("/operations", summary="The operation log (every write with its reason)")
    def operations(scope: Scoped, note_id: str | None = None, limit: Annotated[int | None, Query(ge=1)] = None) -> list[dict[str, Any]]:
        rows = memory.operations(**scope.scope())
        if note_id is not None:
            rows = [r for r in rows if note_id in (r.get("note_id"), r.get("target_id"))]
        return rows[-limit:] if limit else rows

    @api.get("/graph", summary="Notes as nodes and links as edges")
    def graph(scope: Scoped, limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> dict[str, Any]:
        notes = memory.all(**scope.scope())[-limit:]
        ids = {n.id for n in notes}
        nodes = [{"id": n.id, "label": n.content[:60], "q": n.q, "speaker": n.speaker} for n in notes]
        edges = [{"source": n.id, "target": link.target, "relation": link.relation} for n in notes for link in n.links if link.target in ids]
        return {"nodes": nodes, "edges": edges}

    @api.get("/stats", summary="Counts, LLM calls and tokens per stage")
    def stats(scope: Scoped) -> dict[str, Any]:
        return memory.stats(**scope.scope())

    @api.get("/scopes", summary="Every scope of the store with its note count (needs the API key)")
    def scopes() -> list[dict[str, Any]]:
        if api_key is None:
            raise HTTPException(status_code=403, detail="listing scopes needs a server started with --api-key (or $ASEM_API_KEY)")
        return memory.scopes()

    @api.get("/export", response_class=PlainTextResponse, summary="The scope as JSONL (notes, history, log); the whole store needs the API key")
    def export(scope: Scoped) -> PlainTextResponse:
        if api_key is None and not any(scope.scope().values()):
            raise HTTPException(status_code=403, detail="exporting the whole store needs a server started with --api-key; give a scope's ids")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "export.jsonl")
            memory.export(path, **scope.scope())
            text = Path(path).read_text(encoding="utf-8")
        return PlainTextResponse(text, media_type="application/x-ndjson")

    def import_text(data: bytes) -> dict[str, int]:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "import.jsonl")
            Path(path).write_bytes(data)
            return {"imported": memory.import_(path)}

    @api.post(
        "/import",
        summary="Import a JSONL export (all or nothing)",
        openapi_extra={"requestBody": {"required": True, "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
    )
    async def import_(request: Request) -> dict[str, int]:
        return await run_in_threadpool(import_text, await request.body())

    app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def inspector() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="ASEM API",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="data:,",
        )

    return app
