"""The examples run end to end, with the real offline SmolLM2 (about 15 s each once converted)."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(name: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=600, cwd=EXAMPLES, check=True)
    return done.stdout


def test_quickstart():
    out = _run("quickstart.py")
    assert "utility after feedback: 0.55" in out and "DELETE" in out


def test_llamaindex_rerank_moves_the_misleading_source_down():
    rounds = _run("llamaindex_rerank.py").split("round ")[1:]
    assert "Sydney" in rounds[0].splitlines()[1] and "Sydney" not in rounds[-1].splitlines()[1]


def test_llamaindex_memory_block_recalls_across_sessions():
    out = _run("llamaindex_memory_block.py")
    assert "Biscuit" in out.split("(new session)")[1]


def test_langchain_chain_memory_recalls_the_fact_in_session_two():
    out = _run("langchain_chain_memory.py")
    assert "Biscuit" in out.split("recalled into the prompt:")[1].splitlines()[0]


def test_langchain_rag_feedback_moves_the_right_note_up():
    rounds = [line for line in _run("langchain_rag_feedback.py").splitlines() if line.startswith("round")]
    assert "Rex" in rounds[0].split("answer=")[0] and "Buddy" in rounds[-1].split("answer=")[0]


def test_langgraph_agent_store_recalls_across_threads():
    out = _run("langgraph_agent_store.py")
    second = out.split("thread 1:")[1]
    assert "violin" in second.split("recalled:")[1].splitlines()[0]
    assert "('memories', 'sam')" in out
