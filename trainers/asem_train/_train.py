"""GRPO training (TRL ``GRPOTrainer`` + PEFT ``LoraConfig``) and held-out evaluation of policies."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from asem_core import ConfigError, Embedder, SentenceTransformerEmbedder
from asem_core.locomo import Conversation, load_locomo
from asem_core.training import (
    ANSWER_PREFIX,
    MANAGER_PREFIX,
    SMOLLM2_ALIASES,
    offline_smollm2_path,
    write_manager_card,
)

from ._config import AnswerTrainConfig, ManagerTrainConfig, TrainConfig
from ._evaluate import evaluate_policies, evaluate_updates, format_eval, format_update_eval
from ._rewards import answer_f1_reward, answer_reward, current_reward, format_reward, fragmentation_reward, manager_reward
from ._states import AnswerState, ManagerState, build_answer_states, build_manager_states
from ._update_states import update_states

__all__ = ["resolve_model_path", "split_conversations", "train"]

Log = Callable[[str], None]


def resolve_model_path(model: str) -> str:
    """A loadable path or hub id: ``smollm2`` (and SmolLM2's hub id without a hub) map to the offline copy."""
    if model in SMOLLM2_ALIASES:
        return str(offline_smollm2_path())
    return model


def split_conversations(cfg: TrainConfig) -> tuple[list[Conversation], list[Conversation]]:
    """(training, held-out) conversations of the config."""
    convs = load_locomo(cfg.data)
    ids = [c.sample_id for c in convs]
    held = [s for s in (cfg.eval_conversations or "").split(",") if s]
    train_ids = [s for s in (cfg.conversations or "").split(",") if s] or [i for i in ids if i not in held]
    for wanted in held + train_ids:
        if wanted not in ids:
            msg = f"conversation {wanted!r} is not in {cfg.data} (found {', '.join(ids)})"
            raise ConfigError(msg)
    return [c for c in convs if c.sample_id in train_ids], [c for c in convs if c.sample_id in held]


def _render(tokenizer: Any, messages: Sequence[dict[str, str]], prefix: str) -> str:
    text: str = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    return text + prefix


class _JSONLog:
    """A TrainerCallback that appends every log record (reward, KL, loss ...) to a JSONL file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def make(self) -> Any:
        from transformers import TrainerCallback

        path = self.path

        class Callback(TrainerCallback):  # type: ignore[misc]
            def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
                if logs:
                    with path.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps({"step": state.global_step, **{k: v for k, v in logs.items() if isinstance(v, (int, float))}}) + "\n")

        return Callback()


def _plot(log_path: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "reward" in r]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["step"] for r in rows], [r["reward"] for r in rows], label="mean reward")
    if any("kl" in r for r in rows):
        ax.plot([r["step"] for r in rows], [r.get("kl", 0.0) for r in rows], label="KL", alpha=0.7)
    ax.set_xlabel("step")
    ax.legend()
    ax.set_title("GRPO training")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def train(cfg: TrainConfig, *, embedder: Embedder | None = None, log: Log = print) -> Path:
    """Fine-tune a LoRA adapter with GRPO; write the output folder; return it.

    ``ManagerTrainConfig`` trains the memory manager, ``AnswerTrainConfig`` the answer agent.
    """
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import GRPOConfig, GRPOTrainer  # type: ignore[attr-defined]

    set_seed(cfg.seed)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    embedder = embedder or SentenceTransformerEmbedder()
    train_convs, held = split_conversations(cfg)
    started = time.time()
    kind = "manager" if isinstance(cfg, ManagerTrainConfig) else "answer"
    states: Sequence[ManagerState | AnswerState]
    if isinstance(cfg, ManagerTrainConfig):
        generated = update_states(cfg.update_scenarios, embedder, split="train", seed=cfg.seed) if cfg.update_scenarios else []
        states = [*build_manager_states(train_convs, embedder, min_similarity=cfg.min_similarity, max_turns=cfg.max_turns), *generated]
        prefix = MANAGER_PREFIX
        reward_funcs: list[Any] = [format_reward, manager_reward, fragmentation_reward, current_reward]
        weights = [cfg.weight_format, cfg.weight_answer, cfg.weight_fragmentation, cfg.weight_current]
    elif isinstance(cfg, AnswerTrainConfig):
        states = build_answer_states(train_convs, embedder, k=cfg.k, max_turns=cfg.max_turns)
        prefix = ANSWER_PREFIX
        reward_funcs = [answer_f1_reward, answer_reward]
        weights = [cfg.weight_f1, cfg.weight_format]
    else:  # pragma: no cover - the CLI only builds the two
        msg = f"unknown config {type(cfg).__name__}"
        raise TypeError(msg)
    states = list(states)
    random.Random(cfg.seed).shuffle(states)
    if cfg.max_states:
        states = states[: cfg.max_states]
    if not states:
        msg = "no training states: the conversations are too short, or min_similarity is too high"
        raise ValueError(msg)
    updates = sum(1 for s in states if isinstance(s, ManagerState) and s.truth)
    log(f"{len(states)} training states ({updates} from generated update scenarios) from {len(train_convs)} conversation(s) in {time.time() - started:.0f} s")

    path = resolve_model_path(cfg.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32 if cfg.use_cpu else "auto")
    dataset = Dataset.from_list([{"prompt": _render(tokenizer, s.messages(), prefix), "state": s.to_json()} for s in states])
    lora = LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout, target_modules=list(cfg.lora_target_modules), task_type="CAUSAL_LM"
    )
    args = GRPOConfig(
        output_dir=str(out / "checkpoints"),
        max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        beta=cfg.beta,
        reward_weights=weights,
        seed=cfg.seed,
        logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps,
        use_cpu=bool(cfg.use_cpu),
        gradient_checkpointing=cfg.gradient_checkpointing,
        bf16=bool(cfg.bf16),
        use_vllm=cfg.use_vllm,
        vllm_mode=cfg.vllm_mode,
        report_to="none",
        remove_unused_columns=False,
        disable_tqdm=True,
    )
    log_path = out / "log.jsonl"
    if not cfg.resume and log_path.exists():
        log_path.unlink()
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[_JSONLog(log_path).make()],
    )
    last = None
    if cfg.resume:
        ckpts = sorted((out / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
        last = str(ckpts[-1]) if ckpts else None
        log(f"resuming from {last}" if last else "no checkpoint to resume from: starting fresh")
    trainer.train(resume_from_checkpoint=last)
    adapter = out / "adapter"
    trainer.save_model(str(adapter))
    card = {"kind": kind, "prefix": prefix, "steps": trainer.state.global_step, "states": len(states), "seconds": round(time.time() - started, 1)}
    for folder in (adapter, out):
        write_manager_card(folder, cfg.model, **card)
    import yaml

    (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    if log_path.exists():
        _plot(log_path, out / "reward_curve.png")
    results: dict[str, Any] = {}
    policies = ["heuristic", "prompted", f"grpo:{out}", "add-only"]
    if isinstance(cfg, ManagerTrainConfig) and cfg.eval_update_scenarios:
        log(f"evaluating on {cfg.eval_update_scenarios} held-out update scenarios")
        results["updates"] = evaluate_updates(policies, embedder, scenarios=cfg.eval_update_scenarios, model=cfg.model, log=log)
    if held and isinstance(cfg, ManagerTrainConfig):
        log(f"evaluating on held-out {', '.join(c.sample_id for c in held)}")
        results["locomo"] = evaluate_policies(policies, held, embedder, model=cfg.model, max_states=cfg.eval_max_states, max_turns=cfg.eval_max_turns, log=log)
    if results:
        (out / "eval.json").write_text(json.dumps(results, indent=2))
    _model_card(out, cfg, card, train_convs, held, results)
    log(f"wrote {out} ({trainer.state.global_step} steps, {time.time() - started:.0f} s)")
    return out


def _model_card(
    out: Path, cfg: TrainConfig, card: dict[str, Any], train_convs: Sequence[Conversation], held: Sequence[Conversation], results: dict[str, Any]
) -> None:
    lines = [
        f"# ASEM {card['kind']} — GRPO LoRA adapter on {cfg.model}",
        "",
        f"Trained by `asem-train {card['kind']}` with TRL's GRPOTrainer and a PEFT LoRA adapter (r={cfg.lora_r}, alpha={cfg.lora_alpha}, "
        f"modules {', '.join(cfg.lora_target_modules)}).",
        "",
        "## Data",
        f"- training conversations: {', '.join(c.sample_id for c in train_convs)} ({card['states']} states)",
        f"- held-out conversations: {', '.join(c.sample_id for c in held) or 'none'}",
        "- states: each conversation replayed in order with the heuristic reference policy; a state is a fact the LLM manager "
        "is asked about (its nearest note reaches the gate, or it may replace a note's value), with its neighbours and the questions "
        "whose evidence is that turn or a neighbour's source.",
        f"- generated knowledge-update scenarios (training split of `asem-bench updates`: its own slots, templates and names): "
        f"{getattr(cfg, 'update_scenarios', 0)}, scored by the current-value reward.",
        "",
        "## Settings",
        f"- steps {card['steps']}, learning rate {cfg.learning_rate}, group size {cfg.num_generations}, batch {cfg.per_device_train_batch_size}"
        f"×{cfg.gradient_accumulation_steps}, completion budget {cfg.max_completion_length} tokens, temperature {cfg.temperature}, beta (KL) {cfg.beta}",
        f"- device: {'CPU' if cfg.use_cpu else 'CUDA'}, bf16 {cfg.bf16}, seed {cfg.seed}; wall time {card['seconds']} s",
        "- full settings: `config.yaml`; per-step reward, KL and loss: `log.jsonl`; curve: `reward_curve.png`",
        "",
        "## Use",
        "```python",
        "from asem_core import ASEM",
        f'mem = ASEM(manager="grpo:{out}")',
        "```",
    ]
    if "updates" in results:
        lines += ["", "## Held-out knowledge-update scenarios", "", format_update_eval(results["updates"])]
    if "locomo" in results:
        lines += ["", "## Held-out LoCoMo conversations", "", format_eval(results["locomo"])]
    (out / "README.md").write_text("\n".join(lines) + "\n")
