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


def _json(capsys) -> object:
    return json.loads(capsys.readouterr().out)


def test_cli_every_command_with_json_and_flags_after_the_command(tmp_path, capsys):
    store = ["--path", str(tmp_path / "s")]
    assert main(["add", "I live in Paris.", *store, "--user-id", "maya", "--metadata", '{"speaker": "Maya"}', "--json"]) == 0
    note_id = _json(capsys)[0]["note_id"]
    assert main(["add", "My dog is called Rex.", "--timestamp", "2023-05-08", *store, "--user-id", "maya", "--json"]) == 0
    dog_id = _json(capsys)[0]["note_id"]
    assert main(["search", "Where do I live?", *store, "--user-id", "maya", "--json"]) == 0  # flags after the command
    assert _json(capsys)[0]["note"]["id"] == note_id
    assert main([*store, "--user-id", "maya", "search", "pets", "--filters", '{"timestamp": {"$lt": "2024-01-01"}}', "--json"]) == 0
    assert [h["note"]["id"] for h in _json(capsys)] == [dog_id]
    assert main(["list", *store, "--user-id", "maya", "--json"]) == 0
    assert {n["id"] for n in _json(capsys)} == {note_id, dog_id}
    assert main(["get", note_id, *store, "--user-id", "maya", "--json"]) == 0
    assert _json(capsys)["metadata"] == {"speaker": "Maya"}
    assert main(["feedback", "1", "--note-ids", note_id, *store, "--user-id", "maya", "--json"]) == 0
    assert _json(capsys)[0]["q"] == 0.55
    assert main(["stats", *store, "--user-id", "maya", "--json"]) == 0
    assert _json(capsys)["valid_notes"] == 2
    assert main(["scopes", *store, "--json"]) == 0
    assert _json(capsys) == [{"user_id": "maya", "notes": 2}]
    assert main(["delete", dog_id, *store, "--user-id", "maya", "--json"]) == 0
    assert _json(capsys)["op"] == "DELETE"
    assert main(["history", dog_id, *store, "--user-id", "maya", "--json"]) == 0
    assert [v["op"] for v in _json(capsys)] == ["ADD", "DELETE"]
    dump = tmp_path / "maya.jsonl"
    assert main(["export", str(dump), *store, "--user-id", "maya", "--json"]) == 0
    assert _json(capsys)["notes"] == 2
    assert main(["delete", "--all", *store, "--user-id", "maya", "--json"]) == 0
    assert len(_json(capsys)) == 1
    assert main(["import", str(dump), "--path", str(tmp_path / "copy"), "--json"]) == 0
    assert _json(capsys)["notes"] == 2
    assert main(["list", "--all", "--path", str(tmp_path / "copy"), "--user-id", "maya", "--json"]) == 0
    assert len(_json(capsys)) == 2


def test_cli_rough_edges(tmp_path, capsys):
    store = ["--path", str(tmp_path / "s")]
    # a read command never creates a store at a mistyped path
    assert main(["search", "anything", "--path", str(tmp_path / "typo"), "--user-id", "u"]) == 1
    assert "no ASEM store at" in capsys.readouterr().err and not (tmp_path / "typo").exists()
    assert main(["add", "I live in Paris.", *store, "--user-id", "maya"]) == 0
    capsys.readouterr()
    # search without a scope says which scopes hold notes
    assert main(["search", "Where do I live?", *store]) == 1
    assert "--user-id maya" in capsys.readouterr().err
    # feedback --query with no hits says so (it was given)
    assert main(["feedback", "1.0", "--query", "zzzz", *store, "--user-id", "nobody"]) == 1
    err = capsys.readouterr().err
    assert "found no notes" in err and "give --note-ids or --query" not in err
    assert main(["delete", *store, "--user-id", "maya"]) == 2  # neither an id nor --all
    assert main(["delete", "--all", *store]) == 1  # --all needs a scope
    assert "needs user_id" in capsys.readouterr().err
    assert main(["add", "x", *store, "--metadata", "[1]"]) == 1
    assert "--metadata must be a JSON object" in capsys.readouterr().err
    for argv in (["answer", "q"], ["serve"], ["ingest", "f.json", "--llm", "smollm2"]):  # these run here, not on a server
        assert main([*argv, "--server", "http://127.0.0.1:9"]) == 1
        assert "drop --server" in capsys.readouterr().err


def test_cli_help_describes_every_argument(capsys):
    for command in (
        "add",
        "ingest",
        "search",
        "list",
        "get",
        "delete",
        "history",
        "feedback",
        "stats",
        "scopes",
        "export",
        "import",
        "answer",
        "serve",
        "mcp",
        "demo",
    ):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        for flag in ("--path", "--url", "--server", "--user-id", "--json"):
            assert flag in text, (command, flag)
        assert "None" not in text.split("options:")[-1].replace("(default None)", ""), command


def test_cli_answer_with_the_offline_smollm2(tmp_path, capsys):
    store = ["--path", str(tmp_path / "s"), "--user-id", "maya"]
    assert main(["add", "My dog is called Rex.", *store]) == 0
    capsys.readouterr()
    assert main(["answer", "What is my dog called?", *store, "--llm", "smollm2", "--json"]) == 0
    reply = _json(capsys)
    assert set(reply) == {"text", "used_ids", "refused", "valid_reply"} and reply["text"].strip()
    assert all(isinstance(i, str) for i in reply["used_ids"])


def test_one_shot_commands_embed_on_onnx_and_long_running_ones_on_torch(tmp_path):
    from asem_cli._main import _open_memory
    from asem_cli._parser import parse
    from asem_core import SentenceTransformerEmbedder
    from asem_core._onnx import OnnxEmbedder

    assert main(["add", "I live in Paris.", "--path", str(tmp_path / "s"), "--user-id", "u"]) == 0
    chosen = {}
    for argv in (["search", "x"], ["ingest", "f.json"], ["search", "x", "--embed-backend", "torch"]):
        memory = _open_memory(parse([*argv, "--path", str(tmp_path / "s")]))
        chosen[" ".join(argv)] = type(memory.embedder)
        memory.close()
    assert chosen == {"search x": OnnxEmbedder, "ingest f.json": SentenceTransformerEmbedder, "search x --embed-backend torch": SentenceTransformerEmbedder}
