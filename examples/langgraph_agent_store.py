"""A LangGraph agent whose long-term memory is ASEMStore, answering with the local SmolLM2.

The graph recalls memories of the user from the store (ASEM's value-aware search), answers
with ChatHuggingFace over SmolLM2, and saves what the user said. A second thread, days later,
recalls the fact from the first one. Runs offline:
    .venv/bin/python examples/langgraph_agent_store.py
"""

import tempfile
import uuid

from _smollm2 import smollm2_langchain_chat
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime

from asem_core import ASEM
from asem_langchain import ASEMStore

chat = smollm2_langchain_chat(max_new_tokens=40)


def agent(state: MessagesState, runtime: Runtime) -> dict:
    user = runtime.context["user"]
    question = state["messages"][-1].content
    hits = runtime.store.search(("memories", user), query=question, limit=3)
    memories = "\n".join(f"- {h.value['content']}" for h in hits) or "- nothing yet"
    print("recalled:", [h.value["content"] for h in hits])
    reply = chat.invoke([SystemMessage(f"You are a helpful assistant. What you know about the user:\n{memories}"), HumanMessage(question)])
    runtime.store.put(("memories", user), uuid.uuid4().hex, {"content": question})
    return {"messages": [reply]}


graph = StateGraph(MessagesState)
graph.add_node("agent", agent)
graph.add_edge(START, "agent")
graph.add_edge("agent", END)

with ASEM(path=tempfile.mkdtemp()) as mem:
    app = graph.compile(store=ASEMStore(mem))
    first = app.invoke({"messages": [HumanMessage("My daughter Lily starts violin lessons on Monday.")]}, context={"user": "sam"})
    print("thread 1:", first["messages"][-1].content)
    second = app.invoke({"messages": [HumanMessage("What instrument is my daughter learning?")]}, context={"user": "sam"})
    print("thread 2:", second["messages"][-1].content)
    print("store namespaces:", ASEMStore(mem).list_namespaces())
