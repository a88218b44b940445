"""``asem-bench``: evidence metrics, reader metrics, the LoCoMo and perf commands."""

import json

import pytest

from asem_bench._locomo_bench import build_systems, run_locomo
from asem_bench.cli import format_table
from asem_bench.metrics import distinct_sources, evidence_metrics
from asem_core.locomo import load_locomo


def test_metrics_count_distinct_sources_in_rank_order():
    ranked = distinct_sources([["a", "b"], ["a"], ["c"]])
    assert ranked == ["a", "b", "c"]
    m = evidence_metrics(ranked, ["b", "z"], [1, 2, 10])
    assert m["recall@1"] == 0 and m["recall@2"] == 0.5 and m["mrr"] == 0.5 and m["hit@10"] == 1


def test_bench_smoke_on_part_of_a_conversation(locomo_dir, embedder):
    conv = load_locomo(locomo_dir / "conv-30.json")[0]
    conv.turns = conv.turns[:80]
    kept = {t.dia_id for t in conv.turns}
    conv.qa = [q for q in conv.qa if q.evidence and set(q.evidence) <= kept]
    assert conv.qa
    systems = build_systems(["Dense", "BM25", "Hybrid", "ASEM"], embedder, {})
    from asem_bench._evolution import Credit

    results = run_locomo([conv], systems, feedback_passes=1, log=lambda m: None, credit=Credit(depth=25, consolidate=True))
    names = [r.name for r in results]
    assert names == ["Dense", "BM25", "Hybrid", "ASEM"]
    for r in results:
        assert 0.0 <= r.overall["recall@1"] <= r.overall["recall@10"] <= r.overall["recall@25"] <= 1.0
    asem = results[-1]
    assert [p["pass"] for p in asem.evolution] == [0.0, 1.0]
    assert all(0.0 <= p["train_recall@10"] <= 1.0 and 0.0 <= p["heldout_recall@10"] <= 1.0 for p in asem.evolution)
    groups = ("replayed", "paraphrased", "overlap", "disjoint")
    assert all(0.0 <= p[f"{g}_recall@10"] <= 1.0 for p in asem.evolution for g in groups)
    assert asem.evolution[0]["replayed_questions"] == asem.evolution[0]["paraphrased_questions"] > 0
    experiences = [n for n in systems[-1].mem.all(user_id=conv.sample_id) if n.metadata.get("kind") == "experience"]
    assert experiences and all(n.metadata["used"] for n in experiences)  # each leads to the evidence hits of its question
    assert asem.overall["recall@10"] >= results[0].overall["recall@10"]  # ASEM at least matches Dense
    table = format_table(results)
    assert "4 single-hop" in table and "| ASEM |" in table


def test_leave_one_out_tunes_without_the_held_out_conversation(locomo_dir, embedder):
    from asem_bench._loo import format_loo, leave_one_out, parse_grid
    from asem_core import ConfigError

    convs = []
    for name in ("conv-30", "conv-26", "conv-41"):
        conv = load_locomo(locomo_dir / f"{name}.json")[0]
        conv.turns = conv.turns[:60]
        kept = {t.dia_id for t in conv.turns}
        conv.qa = [q for q in conv.qa if q.evidence and set(q.evidence) <= kept]
        convs.append(conv)
    (asem,) = build_systems(["ASEM"], embedder, {})
    for conv in convs:
        asem.ingest(conv.sample_id, conv.turns)
    grid = parse_grid("hop_weight=0.5,0;lexical_weight=0.5")
    assert grid == {"hop_weight": [0.5, 0], "lexical_weight": [0.5]}
    result = leave_one_out(asem, convs, grid, log=lambda m: None)
    assert [r["conversation"] for r in result.rows] == ["conv-30", "conv-26", "conv-41"] and result.grid_points == 2
    for r in result.rows:
        assert r["settings"]["hop_weight"] in (0.5, 0) and 0.0 <= r["recall@10"] <= 1.0 and "default_recall@10" in r
    assert asem.mem.config.hop_weight == 0.5 and asem.mem.config.lam == 0.4  # the memory's settings are restored
    assert "mean of held-out" in format_loo(result)
    with pytest.raises(ConfigError, match="search-time"):
        parse_grid("link_k=1,2")


def test_credit_assignment_and_paraphrases():
    from asem_bench._evolution import Credit, paraphrase

    ranked = [["D1:1"], ["D1:2"], ["D1:3"], ["D1:4"]]
    assert Credit().rewards(ranked, ["D1:3"]) == {0: 0.0, 1: 0.0, 2: 1.0, 3: 0.0}
    assert Credit(miss=-1.0, above_only=True).rewards(ranked, ["D1:2"]) == {0: -1.0, 1: 1.0}
    assert Credit(depth=2).rewards(ranked, ["D1:3"]) == {0: 0.0, 1: 0.0}
    assert Credit(miss=None).rewards(ranked, ["D1:3"]) == {2: 1.0}
    assert paraphrase("When did Ann move to Berlin?") == "Remind me: at what time did Ann move to Berlin?"
    assert paraphrase("Who is Ann's partner?", 1) == "Quick question, which person is Ann's partner?"


def test_reader_metrics_follow_locomo_normalisation():
    from asem_bench.metrics import bleu1, exact_match, normalize_answer, token_f1

    assert normalize_answer("The Golden, Retriever!") == "golden retriever"
    assert token_f1("a golden retriever", "Golden retrievers") == 1.0  # stemmed
    assert token_f1("a beagle", "golden retriever") == 0.0
    assert 0.0 < token_f1("golden dog", "golden retriever") < 1.0
    assert exact_match("The Beagle.", "beagle") == 1.0 and exact_match("beagles", "beagle") == 0.0
    assert bleu1("golden retriever", "golden retriever") == 1.0
    assert bleu1("golden", "golden retriever") < 1.0  # brevity penalty


def test_bench_cli_with_all_systems_and_the_real_reader(locomo_dir, tmp_path, capsys):
    import json

    from asem_bench.cli import main

    out = tmp_path / "b.json"
    code = main(
        [
            "locomo",
            "--data",
            str(locomo_dir),
            "--conversations",
            "conv-26",
            "--sessions",
            "1",
            "--systems",
            "NoMemory,FullContext,BM25,RLManagerOnly,ASEM",
            "--reader",
            "smollm2",
            "--max-questions",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| NoMemory |" in printed and "Reader smollm2" in printed and "adversarial refusal" in printed
    data = json.loads(out.read_text())
    assert set(data["systems"]) == {"NoMemory", "FullContext", "BM25", "RLManagerOnly", "ASEM"}
    asem = data["systems"]["ASEM"]
    assert {"overall", "per_category", "latency", "reader"} <= set(asem)
    assert {"add_p50_ms_per_turn", "add_p95_ms_per_turn", "search_p50_ms", "search_p95_ms"} <= set(asem["latency"])
    assert 0.0 <= asem["reader"]["overall"]["f1"] <= 1.0 and asem["reader"]["overall"]["context_tokens_per_question"] > 0
    assert data["systems"]["NoMemory"]["overall"]["recall@10"] == 0.0
    assert data["settings"]["reader"] == "smollm2" and data["settings"]["sessions"] == 1


def test_bench_perf_cli_smoke(tmp_path, capsys):
    from asem_bench.cli import main as bench_main

    out = tmp_path / "perf.json"
    store = tmp_path / "stores"
    args = [
        "perf",
        "--ingest-texts",
        "96",
        "--sizes",
        "300",
        "--queries",
        "6",
        "--store",
        str(store),
        "--out",
        str(out),
        "--turns",
        "24",
        "--load-notes",
        "100",
    ]
    assert bench_main(args) == 0
    printed = capsys.readouterr().out
    assert "ratio" in printed and "| 300 |" in printed
    assert "LangChain Chroma.add_texts" in printed and "Start-up of a fresh process" in printed and "| 3 busy process(es) |" in printed
    data = json.loads(out.read_text())
    turns = data["turns"]
    assert turns["texts"] == 24 and min(turns[k] for k in ("raw_embedder_texts_per_s", "langchain_chroma_texts_per_s", "asem_texts_per_s")) > 0
    assert turns["ratio_vs_langchain_chroma"] == pytest.approx(turns["asem_texts_per_s"] / turns["langchain_chroma_texts_per_s"])
    for backend in ("torch", "onnx"):
        st = data["startup"][backend]
        assert st["total_s"] == pytest.approx(sum(st[k] for k in ("import_s", "open_s", "first_add_s", "first_search_s")))
    assert data["startup"]["onnx"]["torch_imported"] == 0.0 and data["startup"]["torch"]["torch_imported"] == 1.0
    assert turns["asem_onnx_texts_per_s"] > 0 and turns["raw_onnx_texts_per_s"] > 0
    assert [(r["busy"], r["concurrent"]) for r in data["load"]] == [(0.0, 0.0), (1.0, 0.0), (3.0, 0.0), (0.0, 8.0)]
    assert all(r["asem_p50_ms"] > 0 and r["bare_p50_ms"] > 0 for r in data["load"])
    ingest = data["ingest"]
    assert ingest["texts"] == 96 and ingest["asem_texts_per_s"] > 0 and ingest["raw_embedder_texts_per_s"] > 0
    assert ingest["ratio"] > 0 and ingest["ratio_vs_embed_and_chroma"] > 0
    assert ingest["embedded_texts_per_item"] >= 1.0  # every text is embedded at least once
    (row,) = data["search"]
    assert row["notes"] == 300 and row["store_mb"] > 0
    for key in ("asem_scoped_p50_ms", "asem_unscoped_p50_ms", "bare_chroma_p50_ms", "bare_chroma_filtered_p50_ms", "feedback_p50_ms"):
        assert row[key] > 0, key
    assert row["ratio_scoped_p50"] == pytest.approx(row["asem_scoped_p50_ms"] / row["bare_chroma_p50_ms"])


def test_users_bench_reports_latency_disk_and_open_time(tmp_path, capsys):
    from asem_bench.cli import main as bench_main

    out = tmp_path / "users.json"
    assert bench_main(["users", "--users", "20", "--store", str(tmp_path / "s"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "20 users x 3 facts" in printed and "ratio" in printed and "kB per user" in printed
    data = json.loads(out.read_text())
    assert data["users"] == 20 and data["window"] == 2 and data["files"] > 0 and data["open_s"] > 0
    assert data["ratio_last_to_first"] == pytest.approx(data["last_window_add_ms"] / data["first_window_add_ms"])
    assert "| shared collection |" in printed and set(data["layouts"]) == {"collection per user", "shared collection"}
    assert all(f["write_first_ms"] > 0 and f["query_last_ms"] > 0 and f["files"] > 0 for f in data["layouts"].values())
    assert bench_main(["users", "--users", "2", "--store", str(tmp_path / "s")]) == 2  # never into a non-empty folder
