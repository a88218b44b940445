"""The examples run end to end (slow: they load the real SmolLM2)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=600, cwd=EXAMPLES, check=True)
    return done.stdout


def test_quickstart():
    out = _run("quickstart.py")
    assert "utility after feedback: 0.55" in out and "DELETE" in out


@pytest.mark.slow
def test_llamaindex_rerank_moves_the_misleading_source_down():
    rounds = _run("llamaindex_rerank.py").split("round ")[1:]
    assert "Sydney" in rounds[0].splitlines()[1] and "Sydney" not in rounds[-1].splitlines()[1]


@pytest.mark.slow
def test_llamaindex_memory_block_recalls_across_sessions():
    out = _run("llamaindex_memory_block.py")
    assert "Biscuit" in out.split("(new session)")[1]


@pytest.mark.slow
def test_langchain_chain_memory_recalls_the_fact_in_session_two():
    out = _run("langchain_chain_memory.py")
    assert "Biscuit" in out.split("recalled into the prompt:")[1].splitlines()[0]


@pytest.mark.slow
def test_langchain_rag_feedback_moves_the_right_note_up():
    rounds = [line for line in _run("langchain_rag_feedback.py").splitlines() if line.startswith("round")]
    assert "Rex" in rounds[0].split("answer=")[0] and "Buddy" in rounds[-1].split("answer=")[0]
