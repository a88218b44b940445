"""A LlamaIndex chat agent with ASEM as long-term memory: a fact from session 1 returns in session 2.

Runs offline with the local SmolLM2: .venv/bin/python examples/llamaindex_memory_block.py
"""

import tempfile

from _smollm2 import smollm2_llamaindex_llm
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.memory import Memory

from asem_core import ASEM
from asem_llamaindex import ASEMMemoryBlock

llm = smollm2_llamaindex_llm()
mem = ASEM(path=tempfile.mkdtemp())


def session(session_id: str) -> SimpleChatEngine:
    # a small short-term budget, so older turns are flushed into ASEM quickly
    memory = Memory.from_defaults(
        session_id=session_id, token_limit=200, chat_history_token_ratio=0.3, token_flush_size=20, memory_blocks=[ASEMMemoryBlock(memory=mem, user_id="sam")]
    )
    return SimpleChatEngine.from_defaults(llm=llm, memory=memory, system_prompt="You are a helpful assistant. Answer briefly.")


first = session("monday")
for text in ["I adopted a rescue dog named Biscuit on Saturday.", "He is a beagle mix and chews everything.", "I also started pottery classes on Thursdays."]:
    print("user:", text)
    print("bot: ", str(first.chat(text)).strip()[:120])
print("\nASEM now holds:", [n.content for n in mem.all(user_id="sam")])

second = session("friday")
question = "What is the name of my dog?"
print("\n(new session) user:", question)
print("bot: ", str(second.chat(question)).strip()[:160])
