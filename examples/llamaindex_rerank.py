"""A LlamaIndex query engine over Chroma (local MiniLM embeddings, local SmolLM2 answers),
re-ranked by learned utility: negative feedback on a misleading document moves it down the next
time, and the utilities persist in the ASEM store.

Runs offline: .venv/bin/python examples/llamaindex_rerank.py
"""

import tempfile

import chromadb
from _smollm2 import smollm2_llamaindex_llm
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from llama_index.vector_stores.chroma import ChromaVectorStore

from asem_core import ASEM, offline_minilm_path
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
    docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=HuggingFaceEmbedding(model_name=str(offline_minilm_path()))
)
rerank = ValueAwareRerank(memory=ASEM(path=f"{home}/asem"), top_n=3)
engine = index.as_query_engine(llm=smollm2_llamaindex_llm(), similarity_top_k=3, node_postprocessors=[rerank], response_mode="compact")

question = "What is the capital city of Australia?"
for round_ in range(4):
    response = engine.query(question)
    print(f"round {round_}: {str(response).strip()[:100]!r}")
    for n in response.source_nodes:
        print(f"  {n.score:+.2f}  {n.node.get_content()[:70]}")
    top = response.source_nodes[0]
    if "Sydney" in top.node.get_content():
        rerank.feedback([top], -1.0)  # the user flags the misleading source
    else:
        rerank.feedback([top], 1.0)  # the answer helped
