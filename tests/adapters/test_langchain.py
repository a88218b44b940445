"""LangChain adapters: the standard retriever suite, a real chain with the local SmolLM2, tools."""

import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import SystemMessage
from langchain_tests.integration_tests import RetrieversIntegrationTests

import asem_langchain
from asem_core import ASEM, InvalidInputError
from asem_langchain import ASEMMemory, ASEMRetriever, create_memory_tools

FACTS = [
    "I adopted a dog named Buddy.",
    "My sister lives in Lisbon and works as a nurse.",
    "I started pottery classes on Thursdays.",
    "My favourite food is spicy ramen.",
    "I am training for a half marathon in May.",
    "My car is a red hatchback from 2015.",
]
_STANDARD: dict[str, ASEM] = {}


def _standard_memory() -> ASEM:
    if "mem" not in _STANDARD:
        mem = ASEM.ephemeral()
        mem.add_many([{"text": t} for t in FACTS], user_id="std")
        _STANDARD["mem"] = mem
    return _STANDARD["mem"]


class TestASEMRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[ASEMRetriever]:
        return ASEMRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"memory": _standard_memory(), "user_id": "std"}

    @property
    def retriever_query_example(self) -> str:
        return "What is my dog's name?"


def test_all():
    assert set(asem_langchain.__all__) == {"ASEMMemory", "ASEMRetriever", "ASEMStore", "create_memory_tools"}


def test_retriever_metadata_and_feedback(mem):
    mem.add("I adopted a dog named Buddy.", user_id="u", metadata={"speaker": "Sam", "source_id": "D1:1"})
    mem.add("My sister lives in Lisbon.", user_id="u")
    retriever = ASEMRetriever(memory=mem, user_id="u", k=2)
    docs = retriever.invoke("What is my dog's name?")
    assert docs[0].page_content == "I adopted a dog named Buddy."
    meta = docs[0].metadata
    assert meta["source_ids"] == ["D1:1"] and meta["meta_speaker"] == "Sam" and meta["q"] == pytest.approx(0.5) and meta["timestamp"]
    assert len(retriever.invoke("dog", k=1)) == 1
    retriever.feedback(1.0, docs[:1])
    assert mem.get(docs[0].id, user_id="u").q == pytest.approx(0.55)
    with pytest.raises(InvalidInputError):
        retriever.feedback(2.0)
    assert ASEMRetriever(memory=mem, user_id="nobody").invoke("dog") == []


def test_memory_save_load_clear(mem):
    memory = ASEMMemory(memory=mem, user_id="u")
    memory.save_context({"input": "My dog is called Biscuit."}, {"response": "Nice name!"})
    loaded = memory.load_memory_variables({"input": "What is my dog called?"})["history"]
    assert "Biscuit" in loaded and "<memories>" in loaded
    as_messages = ASEMMemory(memory=mem, user_id="u", return_messages=True).load_memory_variables({"input": "dog"})["history"]
    assert isinstance(as_messages[0], SystemMessage) and "Biscuit" in as_messages[0].content
    ids = [n.id for n in mem.all(user_id="u")]
    memory.clear()
    assert mem.all(user_id="u") == [] and all(mem.history(i, user_id="u")[-1].op.value == "DELETE" for i in ids)
    with pytest.raises(ValueError, match="input_key"):
        memory.load_memory_variables({"a": "1", "b": "2"})


def test_memory_tools(mem):
    search, add, feedback = create_memory_tools(mem, user_id="u")
    assert "ADD" in add.invoke({"fact": "My favourite colour is green."})
    found = search.invoke({"query": "favourite colour"})
    assert "green" in found
    note_id = mem.all(user_id="u")[0].id
    assert "q=0.55" in feedback.invoke({"note_ids": [note_id], "reward": 1.0})


class _Prompts(BaseCallbackHandler):
    def __init__(self) -> None:
        self.prompts: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.prompts.append("\n".join(str(m.content) for batch in messages for m in batch))

    def on_llm_start(self, serialized: Any, prompts: Any, **kwargs: Any) -> None:
        self.prompts.extend(prompts)


def test_a_real_chain_remembers_a_fact_across_sessions(tmp_path, embedder):
    from langchain_classic.chains import ConversationChain
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
    from transformers import pipeline

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    from _smollm2 import load_smollm2

    model, tokenizer = load_smollm2()
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer, max_new_tokens=24, do_sample=False, return_full_text=False)
    chat = ChatHuggingFace(llm=HuggingFacePipeline(pipeline=pipe), tokenizer=tokenizer, model_id="HuggingFaceTB/SmolLM2-135M-Instruct")
    store = tmp_path / "asem"
    with ASEM(path=store, embedder=embedder) as mem:
        ConversationChain(llm=chat, memory=ASEMMemory(memory=mem, user_id="sam")).invoke({"input": "My dog's name is Biscuit and he is a beagle."})
    with ASEM(path=store, embedder=embedder) as mem:  # session 2: a new process would reopen the store the same way
        seen = _Prompts()
        reply = ConversationChain(llm=chat, memory=ASEMMemory(memory=mem, user_id="sam")).invoke(
            {"input": "What is my dog's name?"}, config={"callbacks": [seen]}
        )
    assert any("Biscuit" in p and "What is my dog's name?" in p for p in seen.prompts)
    assert isinstance(reply["response"], str) and reply["response"].strip()


def test_documents_round_trip_ids(mem):
    mem.add("Tea is my morning drink.", user_id="u")
    (doc,) = ASEMRetriever(memory=mem, user_id="u", k=1).invoke("morning drink")
    assert isinstance(doc, Document) and doc.id == doc.metadata["note_id"]


def test_memory_tools_hand_errors_back(mem):
    search, add, feedback = create_memory_tools(mem, user_id="u")
    assert search.invoke({"query": ""}).startswith("Error:")
    assert feedback.invoke({"note_ids": ["made-up-id"], "reward": 1.0}).startswith("Error:")
    assert feedback.invoke({"note_ids": ["made-up-id"], "reward": 3.0}).startswith("Error:")
    assert feedback.invoke({"note_ids": "not-a-list", "reward": "high"}).startswith("Error:")
    assert add.invoke({"fact": " "}).startswith("Error:")
    assert mem.all(user_id="u") == []  # nothing written by the bad calls


def test_a_langgraph_agent_goes_on_after_bad_tool_arguments(embedder):
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, ToolMessage
    from langgraph.prebuilt import create_react_agent

    class Scripted(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> "Scripted":
            return self

    mem = ASEM.ephemeral(embedder=embedder)
    (op,) = mem.add("My favourite colour is green.", user_id="u")
    calls = [
        AIMessage(content="", tool_calls=[{"name": "search_memory", "args": {"query": ""}, "id": "c1"}]),
        AIMessage(content="", tool_calls=[{"name": "memory_feedback", "args": {"note_ids": ["made-up"], "reward": 3.0}, "id": "c2"}]),
        AIMessage(content="", tool_calls=[{"name": "memory_feedback", "args": {"note_ids": [op.note_id], "reward": 1.0}, "id": "c3"}]),
        AIMessage(content="Your favourite colour is green."),
    ]
    agent = create_react_agent(Scripted(messages=iter(calls)), create_memory_tools(mem, user_id="u"))
    out = agent.invoke({"messages": [("user", "What is my favourite colour?")]})
    results = [m.content for m in out["messages"] if isinstance(m, ToolMessage)]
    assert results[0].startswith("Error:") and results[1].startswith("Error:") and "q=0.55" in results[2]
    assert out["messages"][-1].content == "Your favourite colour is green."
