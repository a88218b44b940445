import importlib

import pytest

import asem_core

EXPECTED = {
    "LLM",
    "SMOLLM2",
    "Generation",
    "HFTransformersLLM",
    "LangChainLLM",
    "MeteredLLM",
    "offline_smollm2_path",
    "resolve_llm",
    "Answer",
    "AnswerAgent",
    "LLMEnricher",
    "LLMLinker",
    "PromptedManager",
    "resolve_relative_dates",
    "LearnedManager",
    "LLMReplyError",
    "ASEM",
    "ASEMConfig",
    "ASEMError",
    "BM25Index",
    "CATEGORY_NAMES",
    "ConfigError",
    "Conversation",
    "DataFormatError",
    "DEFAULT_EMBEDDER",
    "Decision",
    "Embedder",
    "Enrichment",
    "Fact",
    "FunctionEmbedder",
    "HeuristicEnricher",
    "HeuristicManager",
    "Hit",
    "InvalidInputError",
    "Link",
    "MemoryManager",
    "ModelLoadError",
    "Neighbour",
    "Note",
    "NoteNotFoundError",
    "OpType",
    "Operation",
    "QA",
    "SCHEMA_VERSION",
    "SchemaVersionError",
    "Scope",
    "SentenceTransformerEmbedder",
    "StoreError",
    "StoreLockedError",
    "format_memories",
    "StoreUnavailableError",
    "Turn",
    "UtilityTable",
    "Version",
    "__version__",
    "default_home",
    "load_locomo",
    "open_memory",
    "resolve_embedder",
    "value_rerank",
    "zscore",
}


def test_all_is_exactly_the_public_api():
    assert set(asem_core.__all__) == EXPECTED
    for name in asem_core.__all__:
        assert hasattr(asem_core, name), name


@pytest.mark.parametrize(
    "module",
    [
        "_config",
        "_embedder",
        "_enrich",
        "_errors",
        "_ingest",
        "_learned",
        "_lexical",
        "_llm",
        "_llm_json",
        "_llm_stages",
        "_locomo",
        "_manager",
        "_memory",
        "_prompt",
        "_retrieval",
        "_store",
        "_text",
        "_types",
        "cli",
    ],
)
def test_every_module_declares_all(module):
    mod = importlib.import_module(f"asem_core.{module}")
    assert isinstance(mod.__all__, list)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_errors_share_one_root():
    for name in [
        "ConfigError",
        "DataFormatError",
        "InvalidInputError",
        "LLMReplyError",
        "ModelLoadError",
        "NoteNotFoundError",
        "SchemaVersionError",
        "StoreError",
        "StoreLockedError",
        "StoreUnavailableError",
    ]:
        assert issubclass(getattr(asem_core, name), asem_core.ASEMError)


def test_core_imports_no_framework():
    import subprocess
    import sys

    frameworks = "('langchain_core', 'langchain', 'llama_index', 'trl', 'peft')"
    code = f"import sys, asem_core, asem_core.cli; bad = [m for m in sys.modules if m.split('.')[0] in {frameworks}]; print(bad); assert not bad"
    subprocess.run([sys.executable, "-c", code], check=True)
