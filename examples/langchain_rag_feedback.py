"""A RAG chain over ASEMRetriever with the local SmolLM2; feedback teaches the retriever what helped.

Runs offline: .venv/bin/python examples/langchain_rag_feedback.py
"""

from _smollm2 import smollm2_langchain_chat
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from asem_core import ASEM, format_memories
from asem_langchain import ASEMRetriever

mem = ASEM.ephemeral()
mem.add_many(
    [
        {"text": "The dog's name is Rex: that is my neighbour's dog.", "metadata": {"speaker": "Sam"}},
        {"text": "My dog is called Buddy.", "metadata": {"speaker": "Sam"}},
        {"text": "I walk to work every morning.", "metadata": {"speaker": "Sam"}},
        {"text": "Rex barks at the mailman every day.", "metadata": {"speaker": "Sam"}},
        {"text": "Dogs need a long walk every day.", "metadata": {"speaker": "Sam"}},
    ],
    user_id="sam",
    link_adjacent=False,
)
retriever = ASEMRetriever(memory=mem, user_id="sam", k=2)
prompt = ChatPromptTemplate.from_messages([("system", "Answer from the memories in one sentence.\n{context}"), ("human", "{question}")])
chain = prompt | smollm2_langchain_chat() | StrOutputParser()

question = "What is the dog's name?"
for round_ in range(5):
    docs = retriever.invoke(question)
    context = format_memories(mem.search(question, user_id="sam", k=2))
    print(f"round {round_}: top={docs[0].page_content!r} answer={chain.invoke({'context': context, 'question': question}).strip()!r}")
    for doc in docs:  # the user confirms Buddy and rejects Rex
        retriever.feedback(1.0 if "Buddy" in doc.page_content else -1.0, [doc])
