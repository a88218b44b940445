"""Stage 2, the memory manager: for each new fact, ADD, UPDATE(target), DELETE(target) or NOOP.

Every policy implements :class:`MemoryManager`: the heuristic (no LLM), the prompted LLM, the
GRPO-trained LLM (:class:`LearnedManager`) and the add-only policy. :func:`resolve_manager`
turns the ``manager=`` option into one of them.
"""

from __future__ import annotations

from typing import Any

from .._config import ASEMConfig
from .._errors import ConfigError
from ._base import AddOnlyManager, Decision, Fact, MemoryManager, Neighbour, check_decision
from ._heuristic import HeuristicManager
from ._learned import MANAGER_CARD, LearnedManager, write_manager_card
from ._prompted import MANAGER_PREFIX, MANAGER_SYSTEM, PromptedManager, asks_llm, manager_messages, parse_manager_reply
from ._supersede import SUPERSEDED_BY, SUPERSEDES, about_someone_else, is_superseded, superseded_neighbour

__all__ = [
    "MANAGER_CARD",
    "MANAGER_PREFIX",
    "MANAGER_SYSTEM",
    "SUPERSEDED_BY",
    "SUPERSEDES",
    "AddOnlyManager",
    "Decision",
    "Fact",
    "HeuristicManager",
    "LearnedManager",
    "MemoryManager",
    "Neighbour",
    "PromptedManager",
    "about_someone_else",
    "asks_llm",
    "check_decision",
    "is_superseded",
    "manager_messages",
    "parse_manager_reply",
    "resolve_manager",
    "superseded_neighbour",
    "write_manager_card",
]


def resolve_manager(spec: MemoryManager | str | None, config: ASEMConfig, llm: Any = None) -> MemoryManager:
    """Turn ``manager=`` into a policy.

    Args:
        spec: ``None`` (the prompted LLM when ``llm`` is given and ``"manage"`` is among
            ``config.llm_stages``, else the heuristic), ``"heuristic"``, ``"prompted"`` (needs
            ``llm``), ``"grpo:PATH"`` (a manager trained by ``asem-train manager``), or a
            :class:`MemoryManager`.
        config: Thresholds and gates.
        llm: The memory's metered LLM, if any.

    Raises:
        ConfigError: An unknown name, or ``"prompted"`` without an LLM.
        ModelLoadError: A ``grpo:`` adapter that is missing or does not fit.
    """
    if spec is None:
        if llm is not None and "manage" in config.llm_stages:
            return PromptedManager(llm, config)
        return HeuristicManager(config)
    if spec == "heuristic":
        return HeuristicManager(config)
    if spec == "prompted":
        if llm is None:
            msg = "manager='prompted' needs an LLM: pass llm='smollm2' (or a hub id, folder or LangChain chat model)"
            raise ConfigError(msg)
        return PromptedManager(llm, config)
    if isinstance(spec, str) and spec.startswith("grpo:"):
        return LearnedManager.from_pretrained(spec[len("grpo:") :], config)
    if isinstance(spec, str):
        msg = f"unknown manager {spec!r}: use 'heuristic', 'prompted', 'grpo:PATH' or pass a MemoryManager instance"
        raise ConfigError(msg)
    if not isinstance(spec, MemoryManager):
        msg = f"manager must implement MemoryManager (a .name and .decide(fact, neighbours)), got {type(spec).__name__}"
        raise ConfigError(msg)
    return spec
