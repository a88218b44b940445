"""The ``asem-train`` command: ``manager``, ``answer`` and ``eval``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from asem_bench.cli import parse_sets
from asem_core import ASEMError, SentenceTransformerEmbedder
from asem_core.locomo import load_locomo

from ._config import AnswerTrainConfig, ManagerTrainConfig, TrainConfig
from ._evaluate import evaluate_policies, evaluate_updates, format_eval, format_update_eval
from ._train import train

__all__ = ["main", "make_parser"]


def _add_config_args(p: argparse.ArgumentParser, cls: type[TrainConfig]) -> None:
    p.add_argument("--config", type=Path, default=None, help="a YAML file of config fields (CLI options override it)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override any config field, e.g. --set lora_r=8")
    for f in fields(cls):
        if f.name in ("lora_target_modules",):
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = {"int": int, "float": float, "int | None": int, "float | None": float}.get(str(f.type), str)
        if str(f.type) in ("bool", "bool | None"):
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=f.metadata.get("help"))
        else:
            p.add_argument(flag, dest=f.name, type=kind, default=None, help=f.metadata.get("help"))


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of ``asem-train``."""
    parser = argparse.ArgumentParser(prog="asem-train", description="GRPO fine-tuning (TRL + PEFT LoRA) of ASEM's memory manager and answer agent.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_config_args(sub.add_parser("manager", help="train the memory manager (ADD/UPDATE/DELETE/NOOP) on outcome reward"), ManagerTrainConfig)
    _add_config_args(sub.add_parser("answer", help="train the answer agent (memory distillation + answer) on token F1"), AnswerTrainConfig)
    p = sub.add_parser("eval", help="compare manager policies on held-out update scenarios and/or LoCoMo conversations")
    p.add_argument("--policies", default="heuristic,prompted", help="comma-separated: heuristic, prompted, grpo:PATH, add-only")
    p.add_argument("--data", default="../shared/data/locomo", help="LoCoMo-format data")
    p.add_argument("--conversations", default="", help="comma-separated held-out sample ids (LoCoMo states and recall of the bank)")
    p.add_argument("--updates", type=int, default=0, help="held-out knowledge-update scenarios (evaluation split) to score")
    p.add_argument("--model", default="smollm2", help="model of the prompted policy")
    p.add_argument("--max-states", type=int, default=None, help="score at most N states per policy")
    p.add_argument("--max-turns", type=int, default=None, help="replay only the first N turns of each conversation")
    p.add_argument("--no-replay", action="store_true", help="skip the replay (bank size and recall)")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    return parser


def _config(args: argparse.Namespace, cls: type[TrainConfig]) -> TrainConfig:
    overrides: dict[str, Any] = {f.name: getattr(args, f.name, None) for f in fields(cls)}
    overrides.update(parse_sets(args.set))
    return cls.load(args.config, **overrides)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``asem-train``; returns the exit status."""
    args = make_parser().parse_args(argv)
    try:
        if args.command in ("manager", "answer"):
            cfg = _config(args, ManagerTrainConfig if args.command == "manager" else AnswerTrainConfig)
            train(cfg, log=lambda m: print(m, file=sys.stderr))
            return 0
        wanted = {c for c in args.conversations.split(",") if c}
        if not wanted and not args.updates:
            print("asem-train: eval needs --conversations IDS and/or --updates N", file=sys.stderr)
            return 2
        convs = [c for c in load_locomo(args.data) if c.sample_id in wanted] if wanted else []
        if wanted and not convs:
            print(f"asem-train: no conversation among {sorted(wanted)} in {args.data}", file=sys.stderr)
            return 2
        policies = [p for p in args.policies.split(",") if p]
        embedder = SentenceTransformerEmbedder()
        log = lambda m: print(m, file=sys.stderr)  # noqa: E731
        results: dict[str, Any] = {}
        if args.updates:
            results["updates"] = evaluate_updates(policies, embedder, scenarios=args.updates, model=args.model, log=log)
            print(format_update_eval(results["updates"]))
        if convs:
            results["locomo"] = evaluate_policies(
                policies, convs, embedder, model=args.model, max_states=args.max_states, max_turns=args.max_turns, replay=not args.no_replay, log=log
            )
            print(format_eval(results["locomo"]))
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2))
        return 0
    except (ASEMError, ValueError) as exc:
        print(f"asem-train: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
