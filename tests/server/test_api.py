"""The REST API of ``asem serve`` (FastAPI, in process through its test client, over a real Chroma and the real MiniLM)."""

from __future__ import annotations

import inspect

import pytest
from fastapi.testclient import TestClient

from asem_cli import make_parser
from asem_core import (
    ASEM,
    ASEMError,
    ConfigError,
    DataFormatError,
    InvalidInputError,
    LLMReplyError,
    ModelLoadError,
    NoteNotFoundError,
    SchemaVersionError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)
from asem_server import create_app, serve
from asem_server._app import status_of
from conftest import free_port, start_server

KEY = {"X-API-Key": "s3cret"}


@pytest.fixture()
def client(embedder) -> TestClient:
    return TestClient(create_app(ASEM.ephemeral(embedder=embedder)))


@pytest.fixture()
def keyed(embedder) -> TestClient:
    return TestClient(create_app(ASEM.ephemeral(embedder=embedder), api_key="s3cret"))


def test_every_endpoint_round_trip(client):
    ops = client.post("/v1/memories", json={"text": "I live in Paris.", "user_id": "maya", "metadata": {"speaker": "Maya"}}).json()
    assert ops[0]["op"] == "ADD"
    note_id = ops[0]["note_id"]
    batch = client.post(
        "/v1/memories/batch",
        json={"items": ["My dog is called Rex.", {"text": "I play the cello.", "timestamp": "2023-05-08", "metadata": {"speaker": "Maya"}}], "user_id": "maya"},
    )
    assert [o["op"] for o in batch.json()] == ["ADD", "ADD"]
    hits = client.post("/v1/search", json={"query": "Where does Maya live?", "user_id": "maya", "k": 3}).json()
    assert hits[0]["note"]["content"] == "I live in Paris." and {"score", "similarity", "relevance", "utility", "channels"} <= set(hits[0])
    only = client.post("/v1/search", json={"query": "music", "user_id": "maya", "filters": {"timestamp": {"$lt": "2024-01-01"}}}).json()
    assert [h["note"]["content"] for h in only] == ["I play the cello."]
    assert client.post("/v1/feedback", json={"reward": 1.0, "note_ids": [note_id], "user_id": "maya"}).json()[0]["q"] == pytest.approx(0.55)
    assert client.get(f"/v1/memories/{note_id}", params={"user_id": "maya"}).json()["uses"] == 1
    assert len(client.get("/v1/memories", params={"user_id": "maya"}).json()) == 3
    updated = client.put(f"/v1/memories/{note_id}", json={"text": "I live in Rome.", "user_id": "maya"}).json()
    assert updated["op"] == "UPDATE"
    history = client.get(f"/v1/memories/{note_id}/history", params={"user_id": "maya"}).json()
    assert [v["note"]["content"] for v in history] == ["I live in Paris.", "I live in Rome."]
    curve = client.get(f"/v1/memories/{note_id}/utility", params={"user_id": "maya"}).json()
    assert [p["q"] for p in curve] == pytest.approx([0.5, 0.55])
    log = client.get("/v1/operations", params={"user_id": "maya", "note_id": note_id}).json()
    assert [r["op"] for r in log] == ["ADD", "FEEDBACK", "UPDATE"]
    graph = client.get("/v1/graph", params={"user_id": "maya"}).json()
    assert len(graph["nodes"]) == 3 and all(e["source"] in {n["id"] for n in graph["nodes"]} for e in graph["edges"])
    assert client.get("/v1/stats", params={"user_id": "maya"}).json()["valid_notes"] == 3
    dump = client.get("/v1/export", params={"user_id": "maya"})
    assert dump.status_code == 200 and dump.text.count('"note":') >= 3
    assert client.delete(f"/v1/memories/{note_id}", params={"user_id": "maya"}).json()["op"] == "DELETE"
    assert len(client.delete("/v1/memories", params={"user_id": "maya"}).json()) == 2
    assert client.get("/v1/memories", params={"user_id": "maya"}).json() == []
    assert len(client.get("/v1/memories", params={"user_id": "maya", "include_invalid": True}).json()) == 3
    assert client.post("/v1/import", content=dump.text, headers={"Content-Type": "application/x-ndjson"}).json() == {"imported": 0}


def test_typed_errors_become_http_status_codes(client):
    assert client.post("/v1/search", json={"query": "", "user_id": "u"}).status_code == 400
    assert client.post("/v1/feedback", json={"reward": 3.0, "note_ids": ["x"], "user_id": "u"}).status_code == 400
    missing = client.get("/v1/memories/nope", params={"user_id": "u"})
    assert missing.status_code == 404 and missing.json()["error"] == "NoteNotFoundError"
    assert client.post("/v1/import", content=b"not json\n", headers={"Content-Type": "application/x-ndjson"}).json()["error"] == "DataFormatError"
    assert client.post("/v1/search", json={"query": "x", "filters": {"a": {"$regex": "x"}}}).status_code == 400
    assert client.delete("/v1/memories").status_code == 400  # delete_all needs a scope
    assert client.post("/v1/memories", json={"user_id": "u"}).status_code == 422  # schema: text missing
    expected = {
        InvalidInputError: 400,
        DataFormatError: 400,
        ConfigError: 400,
        NoteNotFoundError: 404,
        StoreLockedError: 423,
        StoreUnavailableError: 503,
        SchemaVersionError: 503,
        StoreError: 503,
        LLMReplyError: 502,
        ModelLoadError: 500,
        ASEMError: 500,
    }
    assert {cls: status_of(cls("x")) for cls in expected} == expected


def test_a_scope_is_read_only_with_its_ids(client):
    client.post("/v1/memories", json={"text": "Alice's secret: the code is 4711.", "user_id": "alice"})
    assert client.get("/v1/memories").json() == []  # the global scope covers only itself
    assert client.post("/v1/search", json={"query": "secret code"}).json() == []
    assert client.get("/v1/memories", params={"user_id": "bob"}).json() == []
    assert client.get("/v1/graph").json() == {"nodes": [], "edges": []}
    assert client.get("/v1/export").status_code == 403  # the whole store only with a key
    assert "4711" not in client.get("/v1/export", params={"user_id": "bob"}).text
    assert client.get("/v1/scopes").status_code == 403  # nothing lists scopes without a key


def test_api_key_is_required_on_every_request_when_set(keyed):
    assert keyed.post("/v1/memories", json={"text": "I live in Paris.", "user_id": "u"}).status_code == 401
    assert keyed.get("/v1/memories", params={"user_id": "u"}, headers={"X-API-Key": "wrong"}).status_code == 401
    assert keyed.post("/v1/memories", json={"text": "I live in Paris.", "user_id": "u"}, headers=KEY).status_code == 200
    assert keyed.get("/v1/memories", params={"user_id": "u"}, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    for path in ("/v1/stats", "/v1/scopes", "/v1/operations", "/v1/graph", "/v1/export"):
        assert keyed.get(path).status_code == 401, path
    assert keyed.get("/v1/scopes", headers=KEY).json() == [{"user_id": "u", "notes": 1}]
    assert keyed.get("/").status_code == 200  # the page itself holds no data


def test_openapi_and_inspector_are_served(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/memories", "/v1/search", "/v1/feedback", "/v1/memories/{note_id}/history", "/v1/import", "/v1/export"} <= set(spec["paths"])
    assert "SearchRequest" in spec["components"]["schemas"]
    page = client.get("/")
    assert page.status_code == 200 and "ASEM memory inspector" in page.text
    assert "cytoscape" in client.get("/static/cytoscape.min.js").text[:2000].lower()
    assert client.get("/static/inspector.js").status_code == 200
    docs = client.get("/docs").text
    assert "/static/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()  # no CDN: works offline
    assert client.get("/static/swagger-ui-bundle.js").status_code == 200


def test_bad_server_options_are_config_errors(embedder):
    with pytest.raises(ConfigError, match="api_key"):
        create_app(ASEM.ephemeral(embedder=embedder), api_key="  ")


def test_a_store_that_goes_down_is_a_503(tmp_path, embedder):
    port = free_port()
    chroma = start_server(tmp_path / "chroma", port)
    try:
        client = TestClient(create_app(ASEM(url=f"http://127.0.0.1:{port}", embedder=embedder)))
        assert client.post("/v1/memories", json={"text": "I live in Paris.", "user_id": "u"}).status_code == 200
    finally:
        chroma.terminate()
        chroma.wait(timeout=20)
    down = client.post("/v1/search", json={"query": "Where do I live?", "user_id": "u"})
    assert down.status_code == 503 and down.json()["error"] == "StoreUnavailableError"


def test_serve_binds_loopback_by_default():
    args = make_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8765)
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
