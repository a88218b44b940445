"""The ``asem-bench`` command."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asem_core import ASEMError, SentenceTransformerEmbedder
from asem_core.llm import HFTransformersLLM, MeteredLLM
from asem_core.locomo import CATEGORY_NAMES, load_locomo
from asem_core.manager import AddOnlyManager

from ._evolution import Credit
from ._locomo_bench import KS, BenchResult, build_systems, first_sessions, run_locomo, run_reader
from ._loo import LooResult, format_loo, leave_one_out, parse_grid
from ._perf import perf_ingest, perf_search, synthetic_texts
from ._perf_more import report_more
from ._systems import ASEMSystem, BM25System, DenseSystem, System
from ._updates import format_updates_table, generate_scenarios, run_updates
from ._users import report_users

__all__ = ["format_table", "main", "make_parser", "parse_sets"]

DEFAULT_SYSTEMS = "NoMemory,FullContext,Dense,BM25,Hybrid,ValueRetrievalOnly,AtomicLinking,RLManagerOnly,ASEM"
UPDATE_SYSTEMS = "ASEM,ASEM-AddOnly,Dense,BM25"


def _default_data() -> str:
    here = Path.cwd()
    for base in (here, *here.parents):
        candidate = base / "shared" / "data" / "locomo"
        if candidate.is_dir():
            return str(candidate)
        candidate = base.parent / "shared" / "data" / "locomo"
        if candidate.is_dir():
            return str(candidate)
    return "../shared/data/locomo"


def _miss(text: str) -> float | None:
    """``--feedback-miss``: a number, or ``none``."""
    return None if text.lower() == "none" else float(text)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of ``asem-bench``."""
    parser = argparse.ArgumentParser(prog="asem-bench", description="Benchmarks of ASEM against the memory systems a user would pick instead.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("locomo", help="evidence recall on LoCoMo-format conversations")
    p.add_argument("--data", default=_default_data(), help="a folder of conv-*.json files, one file, or locomo10.json")
    p.add_argument("--conversations", default=None, help="comma-separated sample ids (default: all)")
    p.add_argument("--systems", default=DEFAULT_SYSTEMS, help=f"comma-separated (default {DEFAULT_SYSTEMS})")
    p.add_argument("--manager", default="heuristic", help="ASEM's memory manager: heuristic, prompted (needs --llm) or grpo:PATH")
    p.add_argument("--llm", default="none", help="LLM of the ASEM-LLM system (smollm2, a hub id or folder); none: LLM-free only")
    p.add_argument("--reader", default="none", help="answer reader (smollm2, a hub id or folder); none: evidence metrics only")
    p.add_argument("--reader-k", type=int, default=10, help="notes given to the reader per question")
    p.add_argument("--max-questions", type=int, default=None, help="reader: questions per conversation (default all)")
    p.add_argument("--sessions", type=int, default=None, help="keep only the first N sessions of each conversation (and the questions they answer)")
    p.add_argument("--feedback-passes", type=int, default=0, help="self-evolution passes over a training half of the questions")
    p.add_argument("--feedback-depth", type=int, default=10, help="self-evolution: hits of each replayed search that get a reward")
    p.add_argument("--feedback-miss", type=_miss, default=0.0, help="self-evolution: reward of a hit without evidence (in [-1, 0]; 'none': unrated)")
    p.add_argument("--feedback-above-only", action="store_true", help="self-evolution: reward misses only above the last evidence hit")
    p.add_argument("--feedback-consolidate", action="store_true", help="self-evolution: keep each replayed exchange as an experience leading to its evidence")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override an ASEMConfig field, e.g. --set lam=0.3")
    p.add_argument("--loo", action="store_true", help="leave-one-conversation-out: tune search settings on the others, report each conversation")
    p.add_argument("--loo-grid", default=None, help="grid of the leave-one-out tuning, e.g. 'lexical_weight=0.3,0.5;hop_weight=0.5,1'")
    p.add_argument("--out", type=Path, default=None, help="write every figure and the settings as JSON")
    p.add_argument("--plots", type=Path, default=None, help="folder for PNG plots")
    p = sub.add_parser("updates", help="facts that change: current value, stale-above-current, past and 'ever' recall on generated scenarios")
    p.add_argument("--scenarios", type=int, default=300, help="scenarios to generate (one memory scope each)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the generator")
    p.add_argument("--systems", default=UPDATE_SYSTEMS, help=f"comma-separated (default {UPDATE_SYSTEMS})")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override an ASEMConfig field of the ASEM systems")
    p.add_argument("--out", type=Path, default=None, help="write the figures and settings as JSON")
    p = sub.add_parser("perf", help="ingest throughput and search latency against the raw embedder and bare Chroma")
    p.add_argument("--ingest-texts", type=int, default=2000, help="texts for the ingest throughput test")
    p.add_argument("--sizes", default="1000,10000,100000", help="store sizes for the search latency test")
    p.add_argument("--queries", type=int, default=50, help="queries per size")
    p.add_argument("--store", type=Path, default=None, help="folder for persistent stores (default: in memory; needed for sizes on disk)")
    p.add_argument("--turns", type=int, default=400, help="real LoCoMo turns for the side-by-side ingest (0 skips it, start-up and load)")
    p.add_argument("--data", default=_default_data(), help="LoCoMo conversations for the real turns")
    p.add_argument("--load-notes", type=int, default=1000, help="notes in the store searched under load")
    p.add_argument("--threads", type=int, default=None, help="torch threads of the embedder (default: torch's, one per core)")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    p = sub.add_parser("users", help="many users in one local store: add latency as it fills, disk per user, open time")
    p.add_argument("--users", type=int, default=10_000, help="users to add (one add_many of --facts facts each)")
    p.add_argument("--facts", type=int, default=3, help="facts per user")
    p.add_argument("--store", type=Path, required=True, help="an empty folder for the store")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    return parser


def format_table(results: Sequence[BenchResult]) -> str:
    """A markdown table of recall@10 per category and overall metrics."""
    cats = sorted({c for r in results for c in r.per_category}, key=int)
    head = ["system", *[f"{c} {CATEGORY_NAMES.get(int(c), '?')}" for c in cats], *[f"R@{k}" for k in KS], "hit@10", "MRR", "s/turn", "search p50 ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        row = [r.name, *[f"{r.per_category.get(c, {}).get('recall@10', 0.0):.3f}" for c in cats]]
        row += [f"{r.overall.get(f'recall@{k}', 0.0):.3f}" for k in KS]
        row += [
            f"{r.overall.get('hit@10', 0.0):.3f}",
            f"{r.overall.get('mrr', 0.0):.3f}",
            f"{r.latency.get('seconds_per_turn', 0.0):.4f}",
            f"{r.latency.get('search_p50_ms', 0.0):.1f}",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` options as a dict (values read as JSON where they parse)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            msg = f"--set expects FIELD=VALUE, got {item!r}"
            raise SystemExit(msg)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _plots(results: Sequence[BenchResult], folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    cats = sorted({c for r in results for c in r.per_category}, key=int)
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(len(results), 1)
    for i, r in enumerate(results):
        ax.bar(
            [j + i * width for j in range(len(cats) + 1)],
            [r.per_category.get(c, {}).get("recall@10", 0) for c in cats] + [r.overall.get("recall@10", 0)],
            width,
            label=r.name,
        )
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(cats) + 1)], [f"{c} {CATEGORY_NAMES[int(c)]}" for c in cats] + ["overall"])
    ax.set_ylabel("evidence recall@10")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("LoCoMo evidence recall@10 by category")
    fig.tight_layout()
    paths = [str(folder / "recall_by_category.png")]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)
    curves = [r for r in results if r.evolution]
    if curves:
        fig, ax = plt.subplots(figsize=(8.5, 4))
        for r in curves:
            xs = [p["pass"] for p in r.evolution]
            for key, style, label in (
                ("replayed", "o-", "replayed"),
                ("paraphrased", "^-", "replayed, paraphrased"),
                ("overlap", "s--", "held-out, shares evidence"),
                ("disjoint", "x:", "held-out, other evidence"),
            ):
                ax.plot(xs, [p[f"{key}_recall@10"] for p in r.evolution], style, label=f"{r.name} {label}")
        ax.set_xlabel("feedback pass")
        ax.set_xticks(sorted({int(p["pass"]) for r in curves for p in r.evolution}))
        ax.set_ylabel("evidence recall@10")
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
        ax.set_title("Self-evolution: utility learning from feedback")
        fig.tight_layout()
        paths.append(str(folder / "self_evolution.png"))
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def _locomo(args: argparse.Namespace) -> int:
    convs = load_locomo(args.data)
    if args.sessions:
        convs = [first_sessions(c, args.sessions) for c in convs]
    if args.conversations:
        wanted = set(args.conversations.split(","))
        convs = [c for c in convs if c.sample_id in wanted]
        if not convs:
            print(f"asem-bench: no conversation among {sorted(wanted)}", file=sys.stderr)
            return 2
    options = parse_sets(args.set)
    llm = HFTransformersLLM(args.llm) if args.llm != "none" else None
    names = [s.strip() for s in args.systems.split(",") if s.strip()]
    if llm is not None and "ASEM-LLM" not in names:
        names.append("ASEM-LLM")
    if args.manager != "heuristic":
        options["manager"] = args.manager
        if args.manager == "prompted" and llm is None:
            print("asem-bench: --manager prompted needs --llm", file=sys.stderr)
            return 2
    embedder = SentenceTransformerEmbedder()
    systems = build_systems(names, embedder, options, llm)
    started = time.time()
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    credit = Credit(args.feedback_depth, args.feedback_miss, args.feedback_above_only, args.feedback_consolidate)
    loo: LooResult | None = None

    def tune(system: System) -> None:  # on the ingested memory, before feedback changes it
        nonlocal loo
        if args.loo and isinstance(system, ASEMSystem) and system.name == "ASEM":
            loo = leave_one_out(system, convs, parse_grid(args.loo_grid) if args.loo_grid else None, log=log)

    results = run_locomo(convs, systems, args.feedback_passes, log=log, credit=credit, before_feedback=tune)
    if args.reader != "none":
        reader = MeteredLLM(llm if llm is not None and args.reader == args.llm else HFTransformersLLM(args.reader))
        run_reader(convs, systems, results, reader, k=args.reader_k, max_questions=args.max_questions, log=log)
    turns = sum(len(c.turns) for c in convs)
    questions = sum(1 for c in convs for q in c.qa if q.category != 5 and q.evidence)
    when = time.strftime("%Y-%m-%d")
    print(f"\nLoCoMo evidence retrieval — {len(convs)} conversation(s), {turns} turns, {questions} questions (categories 1-4), {when}, {platform.machine()}")
    print("Per-category columns: recall@10. R@k: share of a question's evidence among the first k distinct source turns of the hits.\n")
    print(format_table(results))
    llm_rows = [r for r in results if r.latency.get("llm_calls_per_turn")]
    if llm_rows:
        print("\nLLM cost of ingest (prompts sent per turn, seconds per turn, tokens per turn; notes lacking keywords, tags or context):\n")
        print("| system | LLM calls/turn | s/turn | LLM s/turn | tokens/turn | notes | notes missing enrichment |\n|---|---|---|---|---|---|---|")
        for r in llm_rows:
            keys = ("llm_calls_per_turn", "seconds_per_turn", "llm_seconds_per_turn", "llm_tokens_per_turn")
            counts = f"{r.latency.get('notes', 0):.0f} | {r.latency.get('notes_missing_enrichment', 0):.0f}"
            print(f"| {r.name} | " + " | ".join(f"{r.latency[key]:.3f}" for key in keys) + f" | {counts} |")
    if any(r.reader for r in results):
        print(f"\nReader {args.reader} (top {args.reader_k} notes; F1/BLEU-1/EM on categories 1-4; refusal rate on 5, adversarial):\n")
        cats = ["1", "2", "3", "4"]
        print("| system | " + " | ".join(f"F1 {c} {CATEGORY_NAMES[int(c)]}" for c in cats) + " | F1 | BLEU-1 | EM | adversarial refusal | context tokens/q |")
        print("|" + "---|" * (len(cats) + 6))
        for r in results:
            o = r.reader.get("overall", {})
            per = " | ".join(f"{r.reader.get(c, {}).get('f1', 0.0):.3f}" for c in cats)
            print(
                f"| {r.name} | {per} | {o.get('f1', 0.0):.3f} | {o.get('bleu1', 0.0):.3f} | {o.get('em', 0.0):.3f} | "
                f"{o.get('adversarial_refusal', 0.0):.3f} | {o.get('context_tokens_per_question', 0.0):.0f} |"
            )
    if loo is not None:
        print(f"\nLeave-one-conversation-out (ASEM; search settings tuned on the other {len(convs) - 1}, scored on the one held out; recall@10):\n")
        print(format_loo(loo))
    for r in results:
        for point in r.evolution:
            groups = ("replayed", "paraphrased", "overlap", "disjoint", "heldout")
            figures = ", ".join(f"{g} {point[f'{g}_recall@10']:.3f}" for g in groups)
            print(f"self-evolution {r.name} pass {int(point['pass'])}: R@10 {figures}")
    settings = {
        "data": str(args.data),
        "conversations": [c.sample_id for c in convs],
        "turns": turns,
        "questions": questions,
        "systems": [s.name for s in systems],
        "asem_overrides": options,
        "feedback_passes": args.feedback_passes,
        "feedback_credit": {"depth": credit.depth, "miss": credit.miss, "above_only": credit.above_only, "consolidate": credit.consolidate},
        "llm": args.llm,
        "reader": args.reader,
        "manager": args.manager,
        "sessions": args.sessions,
        "max_questions": args.max_questions,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": platform.platform(),
        "seconds": time.time() - started,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        body: dict[str, Any] = {"settings": settings, "systems": {r.name: r.to_dict() for r in results}}
        if loo is not None:
            body["leave_one_out"] = {"rows": loo.rows, "mean_recall@10": loo.mean("recall@10"), "grid_points": loo.grid_points}
        args.out.write_text(json.dumps(body, indent=2))
        print(f"\nwrote {args.out}")
    if args.plots:
        for path in _plots(results, args.plots):
            print(f"wrote {path}")
    return 0


def _perf(args: argparse.Namespace) -> int:
    embedder = SentenceTransformerEmbedder(threads=args.threads)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    print(f"ASEM perf — {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPUs\n")
    more: dict[str, Any] = {}
    if args.turns > 0:
        items = [t.as_item() for conv in load_locomo(args.data) for t in conv.turns][: args.turns]
        more = report_more(embedder, items, args.load_notes, args.threads)
    ingest = perf_ingest(embedder, synthetic_texts(args.ingest_texts))
    print("Ingest (LLM-free default, add_many in batches of 64) against embedding the same texts once:")
    print(f"  raw embedder {ingest['raw_embedder_texts_per_s']:.1f} texts/s, ASEM {ingest['asem_texts_per_s']:.1f} texts/s, ratio {ingest['ratio']:.2f}")
    print(f"  embed + bare Chroma add {ingest['embed_and_chroma_texts_per_s']:.1f} texts/s, ratio of ASEM to it {ingest['ratio_vs_embed_and_chroma']:.2f}")
    print(f"  texts embedded per item {ingest['embedded_texts_per_item']:.2f} (intent vector + joint vector + re-embedded neighbours)")
    print(f"  add latency per item p50 {ingest['add_p50_ms_per_item']:.1f} ms, p95 {ingest['add_p95_ms_per_item']:.1f} ms\n")
    rows = perf_search(embedder, sizes, args.queries, args.store)
    head = [
        "notes",
        "ASEM scoped p50/p95",
        "ASEM unscoped p50/p95",
        "bare Chroma p50/p95",
        "bare filtered p50/p95",
        "ratio p50",
        "user over 10 sessions p50/p95",
        "user / scoped p50",
        "feedback p50",
        "store MB",
        "RSS MB",
    ]
    print("Search latency in ms (query embedding included everywhere):\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [
            f"{int(r['notes'])}",
            f"{r['asem_scoped_p50_ms']:.1f} / {r['asem_scoped_p95_ms']:.1f}",
            f"{r['asem_unscoped_p50_ms']:.1f} / {r['asem_unscoped_p95_ms']:.1f}",
            f"{r['bare_chroma_p50_ms']:.1f} / {r['bare_chroma_p95_ms']:.1f}",
            f"{r['bare_chroma_filtered_p50_ms']:.1f} / {r['bare_chroma_filtered_p95_ms']:.1f}",
            f"{r['ratio_scoped_p50']:.2f}",
            f"{r['asem_user_10_sessions_p50_ms']:.1f} / {r['asem_user_10_sessions_p95_ms']:.1f}",
            f"{r['ratio_user_level_vs_scoped_p50']:.2f}",
            f"{r['feedback_p50_ms']:.1f}",
            f"{r['store_mb']:.0f}",
            f"{r['rss_mb']:.0f}",
        ]
        print("| " + " | ".join(cells) + " |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"settings": vars(args) | {"store": str(args.store), "out": str(args.out)}, "ingest": ingest, "search": rows, **more}, indent=2)
        )
        print(f"\nwrote {args.out}")
    return 0


def _updates(args: argparse.Namespace) -> int:
    embedder = SentenceTransformerEmbedder()
    options: dict[str, Any] = parse_sets(args.set)
    names = [n.strip() for n in args.systems.split(",") if n.strip()]
    known = {"ASEM", "ASEM-AddOnly", "Dense", "BM25"}
    if unknown := [n for n in names if n not in known]:
        print(f"asem-bench updates: unknown system(s) {unknown}; choose from {sorted(known)}", file=sys.stderr)
        return 2
    systems: list[Any] = []
    for name in names:
        if name == "ASEM":
            systems.append(ASEMSystem("ASEM", embedder, **options))
        elif name == "ASEM-AddOnly":
            systems.append(ASEMSystem("ASEM-AddOnly", embedder, **{**options, "manager": AddOnlyManager()}))
        elif name == "Dense":
            systems.append(DenseSystem(embedder))
        else:
            systems.append(BM25System())
    scenarios = generate_scenarios(args.scenarios, split="eval", seed=args.seed)
    start = time.time()
    results = run_updates(scenarios, systems, log=lambda m: print(m, file=sys.stderr))
    questions = sum(len(s.questions) for s in scenarios)
    print(f"\n{len(scenarios)} scenarios, {sum(len(s.turns) for s in scenarios)} turns, {questions} questions (seed {args.seed})\n")
    print(format_updates_table(results))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        settings = {"scenarios": args.scenarios, "seed": args.seed, "set": options, "seconds": round(time.time() - start, 1), "machine": platform.platform()}
        args.out.write_text(json.dumps({"settings": settings, "systems": results}, indent=2))
        print(f"wrote {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``asem-bench``."""
    args = make_parser().parse_args(argv)
    try:
        if args.command == "locomo":
            return _locomo(args)
        if args.command == "perf":
            return _perf(args)
        if args.command == "updates":
            return _updates(args)
        if args.command == "users":
            if args.store.exists() and any(args.store.iterdir()):
                print(f"asem-bench users: {args.store} is not empty", file=sys.stderr)
                return 2
            figures = report_users(SentenceTransformerEmbedder(), args.store, args.users, args.facts)
            if args.out is not None:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "machine": platform.platform(), **figures}, indent=2))
            return 0
    except ASEMError as exc:
        print(f"asem-bench: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
