"""Held-out comparison of manager policies: LoCoMo states and generated knowledge-update scenarios."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from asem_bench._systems import ASEMSystem
from asem_bench._updates import generate_scenarios, run_updates
from asem_bench.metrics import distinct_sources, evidence_metrics
from asem_core import ASEM, ASEMConfig, Embedder, MemoryManager
from asem_core.locomo import Conversation
from asem_core.manager import AddOnlyManager
from asem_core.training import MANAGER_PREFIX, HFTransformersLLM, MeteredLLM, PromptedManager, resolve_manager

from ._rewards import score_decision, score_operation
from ._states import ManagerState, build_manager_states
from ._states import replay as replay_conversation
from ._update_states import build_update_states

__all__ = ["evaluate_policies", "evaluate_updates", "format_eval", "format_update_eval", "policy_manager"]

Log = Callable[[str], None]


def policy_manager(policy: str, model: str, config: ASEMConfig) -> MemoryManager:
    """The policy named ``policy``: ``heuristic``, ``prompted`` (on ``model``), ``grpo:PATH`` or ``add-only``."""
    if policy == "add-only":
        return AddOnlyManager()
    return resolve_manager(policy, config, MeteredLLM(HFTransformersLLM(model)) if policy == "prompted" else None)


def _score_states(manager: MemoryManager, states: Sequence[ManagerState]) -> list[dict[str, Any]]:
    """Each state scored with the policy's reply (an LLM's raw reply, so invalid ones count)."""
    if isinstance(manager, PromptedManager):
        gens = manager.llm.generate([s.messages() for s in states], stage="eval", max_new_tokens=96, prefix=MANAGER_PREFIX)
        return [score_operation(s, g.text[len(MANAGER_PREFIX) :]) for s, g in zip(states, gens)]
    return [score_decision(s, manager.decide(s.fact_obj(), s.neighbour_objs())) for s in states]


def _summary(scored: Sequence[dict[str, Any]]) -> dict[str, Any]:
    rewards = [r["format"] + r["answer"] + r["fragmentation"] + r["current"] for r in scored]
    return {
        "mean_reward": float(np.mean(rewards)) if rewards else 0.0,
        "valid_reply_rate": float(np.mean([r["valid"] for r in scored])) if scored else 0.0,
        "op_mix": dict(Counter(r["op"] or "invalid" for r in scored)),
    }


def evaluate_policies(
    policies: Sequence[str],
    convs: Sequence[Conversation],
    embedder: Embedder,
    *,
    model: str = "smollm2",
    max_states: int | None = None,
    max_turns: int | None = None,
    replay: bool = True,
    log: Log = print,
) -> dict[str, Any]:
    """Compare manager policies on states of (held-out) LoCoMo conversations.

    Per policy: mean reward (format + answerability + fragmentation), valid-reply rate, operation
    mix on the states; and, with ``replay``, the bank size after replaying the conversations
    with the policy and the evidence recall@10 of that bank.
    """
    config = ASEMConfig()
    states = build_manager_states(convs, embedder, max_turns=max_turns)
    if max_states:
        states = states[:max_states]
    out: dict[str, Any] = {"states": len(states), "conversations": [c.sample_id for c in convs], "policies": {}}
    for policy in policies:
        t0 = time.time()
        manager = policy_manager(policy, model, config)
        row = _summary(_score_states(manager, states))
        if replay:
            mem = ASEM.ephemeral(embedder=embedder, manager=manager, config=config)
            recalls = []
            for conv in convs:
                kept = replay_conversation(mem, conv, max_turns)
                for qa in conv.qa:
                    if qa.category in (1, 2, 3, 4) and qa.evidence and set(qa.evidence) <= kept:
                        hits = mem.search(qa.question, user_id=conv.sample_id, k=10)
                        recalls.append(evidence_metrics(distinct_sources([h.note.source_ids for h in hits]), qa.evidence, [10])["recall@10"])
            row["bank_size"] = sum(len(mem.all(user_id=c.sample_id)) for c in convs)
            row["recall@10"] = float(np.mean(recalls)) if recalls else 0.0
            mem.close()
        row["seconds"] = round(time.time() - t0, 1)
        out["policies"][policy] = row
        log(f"{policy}: reward {row['mean_reward']:.3f}, valid {row['valid_reply_rate']:.3f}, ops {row['op_mix']}")
    return out


def evaluate_updates(
    policies: Sequence[str], embedder: Embedder, *, scenarios: int = 60, seed: int = 0, model: str = "smollm2", log: Log = print
) -> dict[str, Any]:
    """Compare manager policies on held-out knowledge-update scenarios (the evaluation split).

    Per policy: mean reward (format + fragmentation + current value) on the states an LLM manager
    is asked about (built by replaying the scenarios with the heuristic), valid-reply rate,
    operation mix; then every scenario ingested with the policy and its questions asked:
    current-value@1, stale-above-current, past and ever recall@5 (``asem-bench updates``).
    """
    config = ASEMConfig()
    cases = generate_scenarios(scenarios, split="eval", seed=seed)
    states = build_update_states(cases, embedder, config)
    out: dict[str, Any] = {"scenarios": scenarios, "states": len(states), "policies": {}}
    for policy in policies:
        t0 = time.time()
        manager = policy_manager(policy, model, config)
        row = _summary(_score_states(manager, states))
        system = ASEMSystem(policy, embedder, manager=manager, config=config)
        row.update(run_updates(cases, [system], log=lambda _m: None)[policy])
        system.mem.close()
        row["seconds"] = round(time.time() - t0, 1)
        out["policies"][policy] = row
        log(f"{policy}: reward {row['mean_reward']:.3f}, valid {row['valid_reply_rate']:.3f}, current@1 {row['current@1']:.3f}, ops {row['op_mix']}")
    return out


_OPS = ("ADD", "UPDATE", "DELETE", "NOOP", "invalid")


def format_eval(results: dict[str, Any]) -> str:
    """The LoCoMo evaluation as a markdown table."""
    lines = [
        f"{results['states']} held-out states from {', '.join(results['conversations'])}.",
        "",
        "| policy | mean reward | valid replies | ADD | UPDATE | DELETE | NOOP | invalid | bank size | R@10 | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in results["policies"].items():
        ops = " | ".join(str(row["op_mix"].get(k, 0)) for k in _OPS)
        lines.append(
            f"| {name} | {row['mean_reward']:.3f} | {row['valid_reply_rate']:.3f} | {ops} | {row.get('bank_size', '-')} | "
            f"{row.get('recall@10', float('nan')):.3f} | {row['seconds']} |"
        )
    return "\n".join(lines)


def format_update_eval(results: dict[str, Any]) -> str:
    """The knowledge-update evaluation as a markdown table."""
    lines = [
        f"{results['states']} held-out states from {results['scenarios']} generated scenarios (evaluation split).",
        "",
        "| policy | mean reward | valid replies | ADD | UPDATE | DELETE | NOOP | invalid | current@1 | stale above current | past R@5 | ever R@5 | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in results["policies"].items():
        ops = " | ".join(str(row["op_mix"].get(k, 0)) for k in _OPS)
        lines.append(
            f"| {name} | {row['mean_reward']:.3f} | {row['valid_reply_rate']:.3f} | {ops} | {row['current@1']:.3f} | "
            f"{row['stale_above_current']:.3f} | {row.get('past_recall@5', 0.0):.3f} | {row.get('ever_recall@5', 0.0):.3f} | {row['seconds']} |"
        )
    return "\n".join(lines)
