"""A LlamaIndex VectorStoreIndex on Chroma with the local MiniLM, re-ranked by learned utility.

Negative feedback on a misleading document moves it down the next time, and the utilities
persist in the ASEM store. Runs offline: .venv/bin/python examples/llamaindex_rerank.py
(Answer synthesis with a local SmolLM2 comes with the LLM backend; here the engine returns the
re-ranked sources.)
"""

import tempfile

import chromadb
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers.no_text import NoText
from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from llama_index.vector_stores.chroma import ChromaVectorStore

from asem_core import ASEM
from asem_core._embedder import _offline_minilm_path
from asem_llamaindex import ValueAwareRerank

home = tempfile.mkdtemp()
client = chromadb.PersistentClient(path=f"{home}/docs")
store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("docs"))
docs = [
    Document(text="Many tourists say Sydney is the capital city of Australia because it is the largest city."),
    Document(text="Canberra is the capital city of Australia and home of its parliament."),
    Document(text="Melbourne hosts the Australian Open tennis tournament every January."),
]
index = VectorStoreIndex.from_documents(
    docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=HuggingFaceEmbedding(model_name=str(_offline_minilm_path()))
)
rerank = ValueAwareRerank(memory=ASEM(path=f"{home}/asem"), top_n=3)
engine = RetrieverQueryEngine(index.as_retriever(similarity_top_k=3), response_synthesizer=NoText(llm=MockLLM()), node_postprocessors=[rerank])

question = "What is the capital city of Australia?"
for round_ in range(4):
    response = engine.query(question)
    print(f"round {round_}:")
    for n in response.source_nodes:
        print(f"  {n.score:+.2f}  {n.node.get_content()[:70]}")
    top = response.source_nodes[0]
    if "Sydney" in top.node.get_content():
        rerank.feedback([top], -1.0)  # the user flags the misleading source
    else:
        rerank.feedback([top], 1.0)  # the answer helped
