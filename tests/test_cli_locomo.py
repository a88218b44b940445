import json

import pytest

from asem_core import DataFormatError, load_locomo
from asem_core.bench._locomo_bench import build_systems, run_locomo
from asem_core.bench._metrics import distinct_sources, evidence_metrics
from asem_core.bench.cli import format_table
from asem_core.cli import load_items, main
from conftest import EXAMPLE


def test_loader_reads_both_layouts(locomo_dir, tmp_path):
    per_file = load_locomo(locomo_dir / "conv-30.json")[0]
    raw = json.loads((locomo_dir / "conv-30.json").read_text())
    combined = tmp_path / "locomo10.json"
    combined.write_text(json.dumps([{"sample_id": "conv-30", "conversation": {k: v for k, v in raw.items() if k != "qa"}, "qa": raw["qa"]}]))
    single = load_locomo(combined)[0]
    assert single.sample_id == per_file.sample_id == "conv-30"
    assert [t.dia_id for t in single.turns] == [t.dia_id for t in per_file.turns]
    assert len(single.qa) == len(per_file.qa) == 105
    assert per_file.turns[0].timestamp.startswith("2023-")
    assert any("[shares an image:" in t.text for t in per_file.turns)


@pytest.mark.parametrize(
    "content",
    ["not json", "[1, 2]", json.dumps({"speaker_a": "A", "speaker_b": "B"}), json.dumps({"speaker_a": "A", "speaker_b": "B", "session_1": [{"x": 1}]})],
)
def test_loader_rejects_malformed_files(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(DataFormatError):
        load_locomo(bad)


def test_jsonl_of_messages(tmp_path):
    f = tmp_path / "chat.jsonl"
    f.write_text('{"role": "user", "content": "I love jazz."}\n\n{"role": "assistant", "content": "Noted!", "timestamp": "2024-01-02"}\n')
    ((_, items),) = load_items(f)
    assert [i["metadata"]["speaker"] for i in items] == ["user", "assistant"]
    f.write_text('{"role": "user"}\n')
    with pytest.raises(DataFormatError, match=":1"):
        load_items(f)


def test_metrics_count_distinct_sources_in_rank_order():
    ranked = distinct_sources([["a", "b"], ["a"], ["c"]])
    assert ranked == ["a", "b", "c"]
    m = evidence_metrics(ranked, ["b", "z"], [1, 2, 10])
    assert m["recall@1"] == 0 and m["recall@2"] == 0.5 and m["mrr"] == 0.5 and m["hit@10"] == 1


def test_cli_ingest_search_feedback_history_stats(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASEM_HOME", str(tmp_path / "home"))
    assert main(["--user-id", "u1", "ingest", str(EXAMPLE)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["notes"] == 22 and out["operations"]["ADD"] == 22
    assert main(["--user-id", "u1", "search", "What is the name of the puppy?", "-k", "3"]) == 0
    shown = capsys.readouterr().out
    assert "Biscuit" in shown
    note_id = shown.split("id=")[1].split()[0]
    assert main(["--user-id", "u1", "feedback", "1.0", "--note-ids", note_id]) == 0
    assert "q=0.550" in capsys.readouterr().out
    assert main(["--user-id", "u1", "history", note_id]) == 0
    assert "ADD" in capsys.readouterr().out
    assert main(["stats"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == 22
    assert main(["--user-id", "u1", "history", "nope"]) == 1
    assert "NoteNotFoundError" in capsys.readouterr().err


def test_cli_demo_shows_the_ranking_change(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "The answer note now ranks 1" in out
    assert "Biscuit" in out


def test_bench_smoke_on_part_of_a_conversation(locomo_dir, embedder):
    conv = load_locomo(locomo_dir / "conv-30.json")[0]
    conv.turns = conv.turns[:80]
    kept = {t.dia_id for t in conv.turns}
    conv.qa = [q for q in conv.qa if q.evidence and set(q.evidence) <= kept]
    assert conv.qa
    systems = build_systems(["Dense", "BM25", "Hybrid", "ASEM"], embedder, {})
    results = run_locomo([conv], systems, feedback_passes=1, log=lambda m: None)
    names = [r.name for r in results]
    assert names == ["Dense", "BM25", "Hybrid", "ASEM"]
    for r in results:
        assert 0.0 <= r.overall["recall@1"] <= r.overall["recall@10"] <= r.overall["recall@25"] <= 1.0
    asem = results[-1]
    assert [p["pass"] for p in asem.evolution] == [0.0, 1.0]
    assert all(0.0 <= p["train_recall@10"] <= 1.0 and 0.0 <= p["heldout_recall@10"] <= 1.0 for p in asem.evolution)
    assert asem.overall["recall@10"] >= results[0].overall["recall@10"]  # ASEM at least matches Dense
    table = format_table(results)
    assert "4 single-hop" in table and "| ASEM |" in table


def test_reader_metrics_follow_locomo_normalisation():
    from asem_core.bench._metrics import bleu1, exact_match, normalize_answer, token_f1

    assert normalize_answer("The Golden, Retriever!") == "golden retriever"
    assert token_f1("a golden retriever", "Golden retrievers") == 1.0  # stemmed
    assert token_f1("a beagle", "golden retriever") == 0.0
    assert 0.0 < token_f1("golden dog", "golden retriever") < 1.0
    assert exact_match("The Beagle.", "beagle") == 1.0 and exact_match("beagles", "beagle") == 0.0
    assert bleu1("golden retriever", "golden retriever") == 1.0
    assert bleu1("golden", "golden retriever") < 1.0  # brevity penalty


def test_bench_cli_with_all_systems_and_the_real_reader(locomo_dir, tmp_path, capsys):
    import json

    from asem_core.bench.cli import main

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
    from asem_core.bench.cli import main as bench_main

    out = tmp_path / "perf.json"
    store = tmp_path / "stores"
    assert bench_main(["perf", "--ingest-texts", "96", "--sizes", "300", "--queries", "6", "--store", str(store), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ratio" in printed and "| 300 |" in printed
    data = json.loads(out.read_text())
    ingest = data["ingest"]
    assert ingest["texts"] == 96 and ingest["asem_texts_per_s"] > 0 and ingest["raw_embedder_texts_per_s"] > 0
    assert ingest["ratio"] > 0 and ingest["ratio_vs_embed_and_chroma"] > 0
    assert ingest["embedded_texts_per_item"] >= 1.0  # every text is embedded at least once
    (row,) = data["search"]
    assert row["notes"] == 300 and row["store_mb"] > 0
    for key in ("asem_scoped_p50_ms", "asem_unscoped_p50_ms", "bare_chroma_p50_ms", "bare_chroma_filtered_p50_ms", "feedback_p50_ms"):
        assert row[key] > 0, key
    assert row["ratio_scoped_p50"] == pytest.approx(row["asem_scoped_p50_ms"] / row["bare_chroma_p50_ms"])
