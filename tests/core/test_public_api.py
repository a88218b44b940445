import importlib
import pkgutil

import pytest

import asem_core

EXPECTED = {
    "ASEM",
    "DEFAULT_EMBEDDER",
    "LLM",
    "ASEMConfig",
    "ASEMError",
    "Answer",
    "AnswerAgent",
    "ConfigError",
    "DataFormatError",
    "Decision",
    "Embedder",
    "Fact",
    "FunctionEmbedder",
    "Generation",
    "HeuristicManager",
    "Hit",
    "InvalidInputError",
    "LLMReplyError",
    "Link",
    "MemoryManager",
    "ModelLoadError",
    "Neighbour",
    "Note",
    "NoteNotFoundError",
    "OpType",
    "Operation",
    "SchemaVersionError",
    "Scope",
    "SentenceTransformerEmbedder",
    "StoreError",
    "StoreLockedError",
    "StoreUnavailableError",
    "Version",
    "__version__",
    "default_home",
    "format_memories",
    "matches_filter",
    "offline_minilm_path",
    "open_memory",
    "value_rerank",
}


def test_all_is_exactly_the_public_api():
    assert set(asem_core.__all__) == EXPECTED
    for name in asem_core.__all__:
        assert hasattr(asem_core, name), name


def _modules() -> list[str]:
    names = []
    for package in ("asem_core", "asem_bench", "asem_langchain", "asem_llamaindex", "asem_train"):
        pkg = importlib.import_module(package)
        names.append(package)
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}.")]
    return sorted(names)


@pytest.mark.parametrize("module", _modules())
def test_every_module_declares_all(module):
    mod = importlib.import_module(module)
    assert isinstance(mod.__all__, list), module
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_public_submodules_hold_what_left_the_top_level():
    from asem_core import lexical, llm, locomo, manager, training

    assert {"MeteredLLM", "HFTransformersLLM", "LangChainLLM", "resolve_llm", "offline_smollm2_path"} <= set(llm.__all__)
    assert {"PromptedManager", "LearnedManager", "AddOnlyManager", "resolve_manager"} <= set(manager.__all__)
    assert {"load_locomo", "CATEGORY_NAMES", "ingest_sessions"} <= set(locomo.__all__)
    assert {"manager_messages", "parse_manager_reply", "MANAGER_PREFIX", "ANSWER_PREFIX", "write_manager_card"} <= set(training.__all__)
    assert "BM25Index" in lexical.__all__


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

    frameworks = "('langchain_core', 'langchain', 'llama_index', 'trl', 'peft', 'fastapi', 'uvicorn', 'mcp')"
    code = f"import sys, asem_core, asem_cli; bad = [m for m in sys.modules if m.split('.')[0] in {frameworks}]; print(bad); assert not bad"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_adapter_packages_import_their_framework_only_on_first_use():
    import subprocess
    import sys

    for pkg, framework, name in (("asem_langchain", "langchain_core", "ASEMRetriever"), ("asem_llamaindex", "llama_index", "ValueAwareRerank")):
        code = (
            f"import sys, {pkg}; assert '{framework}' not in sys.modules, 'eager import'; "
            f"from {pkg} import {name}; assert '{framework}' in sys.modules; assert '{name}' in dir({pkg})"
        )
        subprocess.run([sys.executable, "-c", code], check=True)


def test_embedder_threads_are_checked():
    from asem_core import ASEMConfig, ConfigError, SentenceTransformerEmbedder

    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="threads"):
            SentenceTransformerEmbedder(threads=bad)
        with pytest.raises(ConfigError, match="embed_threads"):
            ASEMConfig(embed_threads=bad)
    assert ASEMConfig(embed_threads=1).embed_threads == 1


def test_every_public_call_has_an_async_twin_with_the_same_signature():
    import inspect

    from asem_core import ASEM

    calls = [n for n, f in inspect.getmembers(ASEM, inspect.isfunction) if not n.startswith("_") and n != "close" and not inspect.iscoroutinefunction(f)]
    assert {"add", "search", "feedback", "operations", "stats", "export", "import_", "history", "update", "delete", "consolidate"} <= set(calls)
    for name in calls:
        twin = getattr(ASEM, f"a{name}", None)
        assert twin is not None and inspect.iscoroutinefunction(twin), f"a{name} is missing"
        sync, asyn = inspect.signature(getattr(ASEM, name)), inspect.signature(twin)
        assert list(sync.parameters.values()) == list(asyn.parameters.values()), name
        assert sync.return_annotation == asyn.return_annotation, name
