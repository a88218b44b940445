"""LlamaIndex adapters against a real VectorStoreIndex on Chroma with the local MiniLM embedder."""

import chromadb
import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms import MockLLM
from llama_index.core.memory import Memory
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers.no_text import NoText
from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from llama_index.vector_stores.chroma import ChromaVectorStore

import asem_llamaindex
from asem_core import ASEM, InvalidInputError, offline_minilm_path
from asem_llamaindex import ASEMMemoryBlock, ASEMRetriever, ValueAwareRerank

DOCS = {
    "misleading": "Many tourists say Sydney is the capital city of Australia because it is the largest city.",
    "answer": "Canberra is the capital city of Australia and home of its parliament.",
    "other1": "Melbourne hosts the Australian Open tennis tournament every January.",
    "other2": "The Great Barrier Reef lies off the coast of Queensland in Australia.",
}
QUERY = "What is the capital city of Australia?"


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    client = chromadb.PersistentClient(path=str(tmp_path_factory.mktemp("li-chroma")))
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("docs"))
    embed = HuggingFaceEmbedding(model_name=str(offline_minilm_path()))
    docs = [Document(text=t, id_=k) for k, t in DOCS.items()]
    return VectorStoreIndex.from_documents(docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed)


def _names(nodes):
    by_text = {t: k for k, t in DOCS.items()}
    return [by_text[n.node.get_content()] for n in nodes]


def test_all():
    assert set(asem_llamaindex.__all__) == {"ASEMMemoryBlock", "ASEMRetriever", "ValueAwareRerank"}


def test_rerank_follows_utilities_and_survives_a_restart(index, tmp_path, embedder):
    retriever = index.as_retriever(similarity_top_k=4)
    nodes = retriever.retrieve(QUERY)
    home = tmp_path / "asem"
    mem = ASEM(path=home, embedder=embedder)
    rerank = ValueAwareRerank(memory=mem, top_n=4)
    first = rerank.postprocess_nodes(nodes, query_str=QUERY)
    assert _names(first) == _names(nodes)  # nothing rated yet: the retriever's order is kept
    assert _names(first).index("misleading") < _names(first).index("answer")
    by_name = dict(zip(_names(nodes), nodes))
    for _ in range(3):
        rerank.feedback([by_name["misleading"]], -1.0)
        rerank.feedback([by_name["answer"]], 1.0)
    after = _names(rerank.postprocess_nodes(retriever.retrieve(QUERY), query_str=QUERY))
    assert after[0] == "answer" and after.index("misleading") > _names(first).index("misleading")
    mem.close()
    reopened = ValueAwareRerank(memory=ASEM(path=home, embedder=embedder), top_n=4)
    assert _names(reopened.postprocess_nodes(retriever.retrieve(QUERY), query_str=QUERY)) == after


def test_query_engine_with_the_postprocessor_and_response_feedback(index, embedder):
    rerank = ValueAwareRerank(memory=ASEM.ephemeral(embedder=embedder), top_n=2)
    # "no_text" returns the re-ranked source nodes without synthesis: the LLM slot is never called
    engine = RetrieverQueryEngine(index.as_retriever(similarity_top_k=4), response_synthesizer=NoText(llm=MockLLM()), node_postprocessors=[rerank])
    response = engine.query(QUERY)
    assert len(response.source_nodes) == 2
    new = rerank.feedback(response, 1.0)
    assert set(new) == {n.node.node_id for n in response.source_nodes} and all(q > 0.5 for q in new.values())
    with pytest.raises(InvalidInputError):
        rerank.feedback(response, float("nan"))
    with pytest.raises(InvalidInputError):
        rerank.feedback(42, 1.0)


def test_asem_retriever_returns_notes_as_nodes(embedder):
    mem = ASEM.ephemeral(embedder=embedder)
    mem.add("I adopted a dog named Buddy.", user_id="u", metadata={"speaker": "Sam", "source_id": "D1:1"})
    mem.add("My sister lives in Lisbon.", user_id="u")
    retriever = ASEMRetriever(memory=mem, user_id="u", similarity_top_k=2)
    nodes = retriever.retrieve("What is my dog's name?")
    assert nodes[0].node.get_content() == "I adopted a dog named Buddy."
    meta = nodes[0].node.metadata
    assert meta["source_ids"] == ["D1:1"] and meta["meta_speaker"] == "Sam" and meta["q"] == pytest.approx(0.5)
    retriever.feedback(1.0, nodes[:1])
    assert mem.get(nodes[0].node.node_id, user_id="u").q == pytest.approx(0.55)
    assert ASEMRetriever(memory=mem, user_id="other").retrieve("dog") == []


async def test_memory_block_brings_facts_back_in_a_later_session(tmp_path, embedder):
    mem = ASEM(path=tmp_path, embedder=embedder)
    first = Memory.from_defaults(
        session_id="s1", token_limit=30, chat_history_token_ratio=0.5, token_flush_size=10, memory_blocks=[ASEMMemoryBlock(memory=mem, user_id="u")]
    )
    await first.aput_messages(
        [
            ChatMessage(role="user", content="I adopted a dog named Buddy last week."),
            ChatMessage(role="assistant", content="Congratulations on adopting Buddy!"),
            ChatMessage(role="user", content="I also started learning the violin at a music school."),
            ChatMessage(role="assistant", content="Enjoy the violin lessons."),
        ]
    )
    assert any("Buddy" in n.content for n in mem.all(user_id="u"))
    later = Memory.from_defaults(session_id="s2", memory_blocks=[ASEMMemoryBlock(memory=mem, user_id="u")])
    await later.aput(ChatMessage(role="user", content="What is the name of my dog?"))
    messages = await later.aget()
    assert messages[0].role.value == "system" and "Buddy" in messages[0].content and "<memories>" in messages[0].content


def test_a_one_note_memory_answers_a_question_without_shared_words(embedder):
    mem = ASEM.ephemeral(embedder=embedder)
    mem.add("I'm vegetarian.", user_id="u")
    nodes = ASEMRetriever(memory=mem, user_id="u").retrieve("what should I cook for dinner?")
    assert [n.node.get_content() for n in nodes] == ["I'm vegetarian."]


async def test_memory_block_keeps_assistant_filler_out(embedder):
    mem = ASEM.ephemeral(embedder=embedder)
    block = ASEMMemoryBlock(memory=mem, user_id="u")
    await block._aput([ChatMessage(role="user", content="I moved to Lisbon in spring."), ChatMessage(role="assistant", content="Nice!")])
    assert [n.content for n in mem.all(user_id="u")] == ["I moved to Lisbon in spring."]
