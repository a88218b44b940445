"""The ``asem`` command and the LoCoMo loader."""

import json

import pytest

from asem_cli import load_items, main
from asem_core import DataFormatError
from asem_core.locomo import load_locomo
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
