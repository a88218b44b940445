"""Training configuration: dataclasses with help on every field, YAML files and CLI overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from asem_core import ConfigError

__all__ = ["AnswerTrainConfig", "ManagerTrainConfig", "TrainConfig"]


@dataclass
class TrainConfig:
    """What every GRPO run of ``asem-train`` shares."""

    data: str = field(default="../shared/data/locomo", metadata={"help": "LoCoMo-format data: a folder of conv-*.json, one file, or locomo10.json."})
    model: str = field(default="smollm2", metadata={"help": "Base model: 'smollm2' (offline SmolLM2-135M-Instruct), a hub id or a local folder."})
    output: str = field(default="runs/manager", metadata={"help": "Output folder: adapter, config, log, reward curve, model card."})
    conversations: str | None = field(default=None, metadata={"help": "Comma-separated sample ids to train on (default: all but the eval ones)."})
    eval_conversations: str | None = field(default=None, metadata={"help": "Comma-separated held-out sample ids evaluated after training."})
    max_turns: int | None = field(default=None, metadata={"help": "Replay only the first N turns of each conversation (quick runs)."})
    max_states: int | None = field(default=None, metadata={"help": "Use at most N training states (the first N after shuffling with the seed)."})
    max_steps: int = field(default=100, metadata={"help": "GRPO optimisation steps."})
    learning_rate: float = field(default=2e-4, metadata={"help": "AdamW learning rate of the LoRA weights."})
    per_device_train_batch_size: int = field(default=4, metadata={"help": "Completions per device per step (a multiple of num_generations)."})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Steps of gradient accumulation."})
    num_generations: int = field(default=4, metadata={"help": "Completions sampled per prompt (the GRPO group)."})
    max_completion_length: int = field(default=96, metadata={"help": "Token budget of a sampled reply."})
    temperature: float = field(default=0.7, metadata={"help": "Sampling temperature of the rollouts."})
    beta: float = field(default=0.04, metadata={"help": "KL penalty toward the base model (0 disables the reference model)."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    lora_target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"], metadata={"help": "Modules adapted by LoRA."})
    seed: int = field(default=42, metadata={"help": "Seed of sampling, shuffling and initialisation."})
    logging_steps: int = field(default=1, metadata={"help": "Log reward, KL and loss every N steps."})
    save_steps: int = field(default=50, metadata={"help": "Save a checkpoint every N steps (for --resume)."})
    resume: bool = field(default=False, metadata={"help": "Resume from the last checkpoint in the output folder."})
    use_cpu: bool | None = field(default=None, metadata={"help": "Train on the CPU (default: only when CUDA is not available)."})
    bf16: bool | None = field(default=None, metadata={"help": "bf16 mixed precision (default: on with a CUDA device that supports it, off on the CPU)."})
    use_vllm: bool = field(default=False, metadata={"help": "Generate rollouts with vLLM (GPU only; see the trainers README)."})
    vllm_mode: str = field(default="colocate", metadata={"help": "With use_vllm: 'colocate' (vLLM shares the training GPUs) or 'server' (trl vllm-serve)."})
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute activations in the backward pass (saves memory on big models, slower; TRL turns it on by default)."}
    )
    eval_max_turns: int | None = field(default=None, metadata={"help": "Replay only the first N turns of each held-out conversation in the evaluation."})
    eval_max_states: int | None = field(default=64, metadata={"help": "Held-out states scored per policy after training (None: all)."})

    def __post_init__(self) -> None:
        """Validate; pick the device settings."""
        positive = (
            "max_steps",
            "per_device_train_batch_size",
            "gradient_accumulation_steps",
            "num_generations",
            "max_completion_length",
            "lora_r",
            "lora_alpha",
        )
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"{type(self).__name__}.{name} must be a positive integer, got {value!r}"
                raise ConfigError(msg)
        if self.num_generations < 2:
            msg = f"num_generations must be at least 2 (GRPO compares completions within a group), got {self.num_generations}"
            raise ConfigError(msg)
        if (self.per_device_train_batch_size * self.gradient_accumulation_steps) % self.num_generations:
            msg = (
                f"per_device_train_batch_size × gradient_accumulation_steps ({self.per_device_train_batch_size}×{self.gradient_accumulation_steps}) "
                f"must be a multiple of num_generations ({self.num_generations})"
            )
            raise ConfigError(msg)
        for name, lo, hi in (("learning_rate", 0.0, 1.0), ("temperature", 0.0, 10.0), ("beta", 0.0, 100.0), ("lora_dropout", 0.0, 1.0)):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= value <= hi:
                msg = f"{type(self).__name__}.{name}={value!r} is outside [{lo}, {hi}]"
                raise ConfigError(msg)
        if not self.lora_target_modules:
            msg = "lora_target_modules must name at least one module"
            raise ConfigError(msg)
        import torch

        cuda = torch.cuda.is_available()
        if self.use_cpu is None:
            self.use_cpu = not cuda
        if self.bf16 is None:
            self.bf16 = bool(cuda and not self.use_cpu and torch.cuda.is_bf16_supported())
        if self.bf16 and self.use_cpu:
            msg = "bf16 is only supported here with a CUDA device; set bf16: false on the CPU"
            raise ConfigError(msg)
        if self.vllm_mode not in ("colocate", "server"):
            msg = f"vllm_mode must be 'colocate' or 'server', got {self.vllm_mode!r}"
            raise ConfigError(msg)
        if self.use_vllm and self.use_cpu:
            msg = "use_vllm needs a CUDA device"
            raise ConfigError(msg)

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> TrainConfig:
        """A config from a YAML file (optional) with overrides on top (None values are ignored).

        Raises:
            ConfigError: Unknown keys, or a file that is not a YAML mapping.
        """
        values: dict[str, Any] = {}
        if path is not None:
            import yaml

            try:
                loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                msg = f"{path}: cannot read the config ({exc})"
                raise ConfigError(msg) from exc
            if not isinstance(loaded, dict):
                msg = f"{path}: a config must be a YAML mapping of field: value"
                raise ConfigError(msg)
            values.update(loaded)
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            msg = f"unknown {cls.__name__} field(s): {', '.join(unknown)}"
            raise ConfigError(msg)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for the output folder)."""
        return dataclasses.asdict(self)


@dataclass
class ManagerTrainConfig(TrainConfig):
    """``asem-train manager``: the memory manager's LoRA adapter."""

    min_similarity: float | None = field(
        default=None, metadata={"help": "Keep states whose nearest note is at least this similar (default: the prompted manager's gate)."}
    )
    weight_format: float = field(default=1.0, metadata={"help": "Weight of the format reward (invalid JSON, unknown op or target)."})
    weight_answer: float = field(default=1.0, metadata={"help": "Weight of the answerability reward of the bank after the operation."})
    weight_fragmentation: float = field(default=1.0, metadata={"help": "Weight of the penalty for an ADD that duplicates a note."})
    weight_current: float = field(default=1.0, metadata={"help": "Weight of the current-value reward on generated knowledge-update states."})
    update_scenarios: int = field(
        default=150, metadata={"help": "Generated knowledge-update scenarios (training split) whose states join the LoCoMo ones (0: none)."}
    )
    eval_update_scenarios: int = field(
        default=60, metadata={"help": "Held-out knowledge-update scenarios (evaluation split: other slots, templates, names) scored after training."}
    )


@dataclass
class AnswerTrainConfig(TrainConfig):
    """``asem-train answer``: the answer agent's LoRA adapter (memory distillation + answer)."""

    output: str = field(default="runs/answer", metadata={"help": "Output folder: adapter, config, log, reward curve, model card."})
    k: int = field(default=5, metadata={"help": "Notes retrieved per question."})
    max_completion_length: int = field(default=48, metadata={"help": "Token budget of a sampled answer."})
    weight_f1: float = field(default=1.0, metadata={"help": "Weight of the answer token F1 reward."})
    weight_format: float = field(default=0.5, metadata={"help": "Weight of the format reward."})
