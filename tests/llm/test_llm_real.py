"""The LLM stages on the real offline SmolLM2-135M-Instruct (converted once from the GGUF file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asem_core import ASEM, ASEMConfig, OpType
from asem_core.llm import HFTransformersLLM, offline_smollm2_path
from asem_core.locomo import load_locomo


@pytest.fixture(scope="module")
def smollm2() -> HFTransformersLLM:
    llm = HFTransformersLLM("smollm2")
    llm.load()
    return llm


def test_offline_smollm2_is_a_normal_hf_folder(smollm2: HFTransformersLLM) -> None:
    folder = offline_smollm2_path()
    assert (folder / "model.safetensors").exists() and (folder / "tokenizer.json").exists()
    assert offline_smollm2_path() == folder  # converted once, then reused
    (gen,) = smollm2.generate([[{"role": "user", "content": "Say hello."}]], max_new_tokens=8)
    assert gen.completion_tokens > 0 and gen.prompt_tokens > 0 and gen.text.strip()
    (js,) = smollm2.generate([[{"role": "user", "content": 'Reply with JSON {"a": 1}'}]], max_new_tokens=40, prefix="{")
    assert js.text.startswith("{")


def test_real_smollm2_ingests_locomo_turns(locomo_dir: Path, embedder, smollm2: HFTransformersLLM) -> None:
    conv = load_locomo(locomo_dir / "conv-26.json")[0]
    turns = conv.turns[:8]
    mem = ASEM.ephemeral(embedder=embedder, llm=smollm2)
    items = [{"text": t.text, "timestamp": t.timestamp, "metadata": {"speaker": t.speaker, "source_id": t.dia_id}} for t in turns]
    ops = mem.add_many(items, user_id=conv.sample_id)
    assert len(ops) == len(turns)
    notes = mem.all(user_id=conv.sample_id, include_invalid=True)
    for note in notes:
        assert note.keywords and note.tags and note.context, note
    # every turn is in memory: its own note, or merged into one (NOOP/UPDATE), by source id
    sources = {sid for n in notes for sid in n.source_ids}
    assert {t.dia_id for t in turns} <= sources
    stats = mem.stats(user_id=conv.sample_id)
    assert stats["llm_calls"] >= len(turns) // 2 and stats["completion_tokens"] > 0
    assert stats["llm_stages"]["construct"]["calls"] >= len(turns) // 2
    assert all(op.op in (OpType.ADD, OpType.UPDATE, OpType.DELETE, OpType.NOOP) for op in ops)
    # re-ingesting is idempotent and makes no LLM call for known source ids
    calls = stats["llm_calls"]
    again = mem.add_many(items, user_id=conv.sample_id)
    assert all(op.op is OpType.NOOP for op in again)
    assert mem.stats()["llm_calls"] == calls


def test_chathuggingface_over_smollm2_answers_from_memory(embedder) -> None:
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    folder = offline_smollm2_path()
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    pipe = pipeline("text-generation", model=model, tokenizer=tok, max_new_tokens=40, do_sample=False, return_full_text=False)
    chat = ChatHuggingFace(llm=HuggingFacePipeline(pipeline=pipe), tokenizer=tok, model_id="HuggingFaceTB/SmolLM2-135M-Instruct")
    mem = ASEM.ephemeral(embedder=embedder, llm=chat, config=ASEMConfig(llm_stages=()))
    mem.add("Caroline's dog is called Buddy.", user_id="u")
    answer = mem.answer("What is the name of Caroline's dog?", user_id="u")
    assert isinstance(answer.text, str) and answer.text
    assert answer.refused or answer.used_ids  # used notes are named (or distilled) whenever it answers
    stats = mem.stats()
    assert stats["llm_stages"]["answer"]["calls"] == 1 and stats["llm"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
