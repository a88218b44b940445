"""ASEMStore against LangGraph's documented BaseStore contract.

langgraph ships no store conformance suite, so each contract test runs on LangGraph's own
InMemoryStore too: ASEMStore must behave like the reference implementation.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

import pytest
from langgraph.store.base import BaseStore, InvalidNamespaceError, Item, PutOp
from langgraph.store.memory import InMemoryStore

from asem_core import ASEM, OpType
from asem_langchain import ASEMStore


@pytest.fixture(params=["asem", "inmemory"])
def store(request: pytest.FixtureRequest, embedder) -> BaseStore:
    if request.param == "inmemory":
        return InMemoryStore()
    return ASEMStore(ASEM.ephemeral(embedder=embedder))


def test_put_get_roundtrip(store: BaseStore) -> None:
    store.put(("users", "u1"), "pref", {"content": "likes green tea", "n": 1})
    item = store.get(("users", "u1"), "pref")
    assert isinstance(item, Item)
    assert item.value == {"content": "likes green tea", "n": 1} and item.key == "pref" and item.namespace == ("users", "u1")
    assert item.created_at <= item.updated_at
    assert store.get(("users", "u1"), "missing") is None
    assert store.get(("users", "u2"), "pref") is None  # namespaces are isolated


def test_put_on_existing_key_replaces_value(store: BaseStore) -> None:
    ns = ("users", "u1")
    store.put(ns, "pref", {"content": "likes green tea"})
    first = store.get(ns, "pref")
    store.put(ns, "pref", {"content": "likes black coffee"})
    second = store.get(ns, "pref")
    assert first is not None and second is not None
    assert second.value == {"content": "likes black coffee"} and second.updated_at >= first.updated_at
    assert len(store.search(ns)) == 1


def test_delete_then_put_again(store: BaseStore) -> None:
    ns = ("users", "u1")
    store.put(ns, "k", {"content": "a"})
    store.delete(ns, "k")
    assert store.get(ns, "k") is None and store.search(ns) == []
    store.delete(ns, "never-there")  # deleting a missing key is a no-op
    store.put(ns, "k", {"content": "b"})
    item = store.get(ns, "k")
    assert item is not None and item.value == {"content": "b"}


def test_search_filter_limit_offset(store: BaseStore) -> None:
    ns = ("docs",)
    for i in range(6):
        store.put(ns, f"d{i}", {"content": f"document number {i}", "i": i, "kind": "even" if i % 2 == 0 else "odd"})
    assert len(store.search(ns)) == 6
    evens = store.search(ns, filter={"kind": "even"})
    assert sorted(it.key for it in evens) == ["d0", "d2", "d4"]
    assert sorted(it.key for it in store.search(ns, filter={"i": {"$gte": 4}})) == ["d4", "d5"]
    assert sorted(it.key for it in store.search(ns, filter={"kind": {"$ne": "even"}})) == ["d1", "d3", "d5"]
    page1, page2 = store.search(ns, limit=4), store.search(ns, limit=4, offset=4)
    assert len(page1) == 4 and len(page2) == 2 and not {i.key for i in page1} & {i.key for i in page2}
    assert store.search(("nothing",)) == []


def test_search_by_prefix_spans_namespaces(store: BaseStore) -> None:
    store.put(("users", "u1", "facts"), "a", {"content": "x"})
    store.put(("users", "u2", "facts"), "b", {"content": "y"})
    store.put(("other",), "c", {"content": "z"})
    assert sorted(i.key for i in store.search(("users",))) == ["a", "b"]
    assert [i.key for i in store.search(("users", "u2"))] == ["b"]


def test_list_namespaces(store: BaseStore) -> None:
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("x", "b")]:
        store.put(ns, "k", {"content": "v"})
    assert sorted(store.list_namespaces()) == [("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("x", "b")]
    assert sorted(store.list_namespaces(prefix=("a", "b"))) == [("a", "b", "c"), ("a", "b", "d")]
    assert sorted(store.list_namespaces(suffix=("d",))) == [("a", "b", "d")]
    assert sorted(store.list_namespaces(prefix=("a", "*", "c"))) == [("a", "b", "c")]
    assert sorted(store.list_namespaces(max_depth=2)) == [("a", "b"), ("a", "e"), ("x", "b")]
    assert len(store.list_namespaces(limit=2)) == 2


def test_invalid_input_is_rejected(store: BaseStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(("bad.label",), "k", {"content": "v"})
    with pytest.raises(InvalidNamespaceError):
        store.put((), "k", {"content": "v"})


async def test_async_interface(store: BaseStore) -> None:
    ns = ("async", "u")
    await store.aput(ns, "k", {"content": "remember the milk"})
    item = await store.aget(ns, "k")
    assert item is not None and item.value["content"] == "remember the milk"
    assert [i.key for i in await store.asearch(ns)] == ["k"]
    assert ("async", "u") in await store.alist_namespaces()
    await store.adelete(ns, "k")
    assert await store.aget(ns, "k") is None


# ------------------------------------------------------------------ what ASEM adds
def test_semantic_search_scores_and_history(embedder) -> None:
    mem = ASEM.ephemeral(embedder=embedder)
    store = ASEMStore(mem)
    ns = ("memories", "u1")
    store.put(ns, "food", {"content": "Sam is allergic to peanuts."})
    store.put(ns, "pet", {"content": "Sam has a cat called Miso."})
    store.put(ns, "job", {"content": "Sam works as a nurse at night."})
    hits = store.search(ns, query="what is Sam allergic to?", limit=2)
    assert hits[0].key == "food" and hits[0].score is not None and len(hits) == 2
    # put on an existing key is a versioned update; delete keeps the history
    store.put(ns, "pet", {"content": "Sam has two cats, Miso and Tofu."})
    store.delete(ns, "job")
    notes = {n.metadata["lg_key"]: n for n in mem.all(user_id="memories.u1", agent_id="langgraph", include_invalid=True)}
    pet_history = mem.history(notes["pet"].id, user_id="memories.u1", agent_id="langgraph")
    assert [v.op for v in pet_history] == [OpType.ADD, OpType.UPDATE]
    assert pet_history[0].note.metadata["lg_value"] == {"content": "Sam has a cat called Miso."}
    job_history = mem.history(notes["job"].id, user_id="memories.u1", agent_id="langgraph")
    assert job_history[-1].op is OpType.DELETE and job_history[0].note.content == "Sam works as a nurse at night."
    # feedback raises the utility of the items used
    store.feedback(1.0, hits[:1])
    assert mem.get(notes["food"].id, user_id="memories.u1", agent_id="langgraph").q > 0.5


def test_index_fields_choose_the_embedded_text(embedder) -> None:
    mem = ASEM.ephemeral(embedder=embedder)
    store = ASEMStore(mem)
    store.put(("d",), "k", {"title": "Trip to Kyoto", "body": "We saw temples.", "id": 7}, index=["title"])
    (note,) = mem.all(user_id="d", agent_id="langgraph")
    assert note.content == "Trip to Kyoto"
    store.put(("d",), "j", {"id": 8, "tags": ["x"]})  # no text field: the JSON is embedded
    assert any(n.content.startswith("{") for n in mem.all(user_id="d", agent_id="langgraph"))
    with pytest.raises(TypeError):
        store.put(("d",), "bad", {"obj": object()})
    assert store.get(("d",), "bad") is None


def test_store_survives_restart(tmp_path, embedder) -> None:
    with ASEM(path=tmp_path / "s", embedder=embedder) as mem:
        ASEMStore(mem).put(("u",), "k", {"content": "persisted"})
    with ASEM(path=tmp_path / "s", embedder=embedder) as mem:
        item = ASEMStore(mem).get(("u",), "k")
        assert item is not None and item.value == {"content": "persisted"}


def test_langgraph_graph_uses_asem_as_its_store(embedder) -> None:
    from langgraph.graph import END, START, StateGraph
    from langgraph.runtime import Runtime

    class State(TypedDict):
        user: str
        said: str
        recalled: Annotated[list[str], operator.add]

    def remember(state: State, runtime: Runtime) -> dict:
        assert runtime.store is not None
        runtime.store.put(("memories", state["user"]), f"m{len(runtime.store.search(('memories', state['user'])))}", {"content": state["said"]})
        return {}

    def recall(state: State, runtime: Runtime) -> dict:
        assert runtime.store is not None
        hits = runtime.store.search(("memories", state["user"]), query=state["said"], limit=3)
        return {"recalled": [h.value["content"] for h in hits]}

    graph = StateGraph(State)
    graph.add_node("recall", recall)
    graph.add_node("remember", remember)
    graph.add_edge(START, "recall")
    graph.add_edge("recall", "remember")
    graph.add_edge("remember", END)
    store = ASEMStore(ASEM.ephemeral(embedder=embedder))
    app = graph.compile(store=store)
    app.invoke({"user": "ann", "said": "My sister lives in Lisbon.", "recalled": []})
    out = app.invoke({"user": "ann", "said": "Where does my sister live?", "recalled": []})
    assert out["recalled"][0] == "My sister lives in Lisbon."
    other = app.invoke({"user": "bob", "said": "Where does my sister live?", "recalled": []})
    assert other["recalled"] == []  # another user's namespace


def test_readme_example_small_memory_answers_with_a_similarity_score(embedder) -> None:
    store = ASEMStore(ASEM.ephemeral(embedder=embedder))
    store.put(("memories", "u1"), "pref", {"content": "Likes green tea"})
    (item,) = store.search(("memories", "u1"), query="what does the user drink?")
    assert item.key == "pref" and item.score is not None and 0.0 < item.score < 1.0


def test_put_of_a_non_dict_is_a_clear_error_and_writes_nothing(embedder) -> None:
    from asem_core import InvalidInputError

    store = ASEMStore(ASEM.ephemeral(embedder=embedder))
    with pytest.raises(InvalidInputError, match="must be a dict"):
        store.put(("memories", "u1"), "pref", "not a dict")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be a dict"):  # still a ValueError, as LangGraph users expect
        store.batch([PutOp(("memories", "u1"), "ok", {"content": "fine"}), PutOp(("memories", "u1"), "bad", [1, 2])])  # type: ignore[arg-type]
    assert store.search(("memories", "u1")) == []
