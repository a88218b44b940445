"""A classic LangChain chain with ASEMMemory and the local SmolLM2 that remembers a fact across two sessions.

Runs offline: .venv/bin/python examples/langchain_chain_memory.py
"""

import tempfile

from _smollm2 import smollm2_langchain_chat
from langchain_classic.chains import ConversationChain

from asem_core import ASEM
from asem_langchain import ASEMMemory

chat = smollm2_langchain_chat()
store = tempfile.mkdtemp()

with ASEM(path=store) as mem:  # session 1
    chain = ConversationChain(llm=chat, memory=ASEMMemory(memory=mem, user_id="sam"))
    print("session 1:", chain.invoke({"input": "My dog's name is Biscuit and he is a beagle."})["response"])

with ASEM(path=store) as mem:  # session 2: a fresh chain over the same store
    memory = ASEMMemory(memory=mem, user_id="sam")
    recalled = memory.load_memory_variables({"input": "What is my dog's name?"})["history"]
    print("recalled into the prompt:", [line for line in recalled.splitlines() if line.startswith("<memory ")])
    chain = ConversationChain(llm=chat, memory=memory)
    print("session 2:", chain.invoke({"input": "What is my dog's name?"})["response"])
