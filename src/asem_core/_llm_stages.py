"""The LLM versions of ASEM's stages, each with a schema, one retry, and a heuristic fallback.

- :class:`LLMEnricher` — note construction: a standalone fact (pronouns and relative dates
  resolved), keywords, tags and a context line, for several turns per prompt;
- :class:`PromptedManager` — ADD / UPDATE(target) / DELETE(target) / NOOP with a reason;
- :class:`LLMLinker` — free-form relation labels to neighbours and their evolved tags/context;
- :class:`AnswerAgent` — an answer from retrieved notes, naming the notes it used;
- :func:`consolidate_prompt` — an experience note from (question, answer, reward).

Every reply is parsed with a pydantic schema (:mod:`asem_core._llm_json`), checked against
what the prompt offered (ids are the prompt's numbers, never free text), retried once with the
error shown to the model, and otherwise replaced by the heuristic result: a fact is never
dropped and a note is never overwritten because of a bad reply. Rejections are logged with
their reason on the ``asem_core.llm`` logger and counted in ``stats()["llm_stages"]``.
"""

from __future__ import annotations

from ._llm_answer import REFUSAL, Answer, AnswerAgent, answer_messages, consolidate_prompt, experience_text, parse_answer
from ._llm_common import MAX_FIELD, resolve_relative_dates
from ._llm_construct import Constructed, LLMEnricher
from ._llm_link import LinkPlan, LLMLinker
from ._llm_manage import MANAGER_SYSTEM, PromptedManager, manager_messages, parse_manager_reply

__all__ = [
    "MANAGER_SYSTEM",
    "MAX_FIELD",
    "REFUSAL",
    "Answer",
    "AnswerAgent",
    "Constructed",
    "LLMEnricher",
    "LLMLinker",
    "LinkPlan",
    "PromptedManager",
    "answer_messages",
    "consolidate_prompt",
    "experience_text",
    "manager_messages",
    "parse_answer",
    "parse_manager_reply",
    "resolve_relative_dates",
]
