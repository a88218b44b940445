"""``asem-bench updates``: the scenario generator and the command on a few scenarios."""

import json

import pytest

from asem_bench._updates import generate_scenarios
from asem_bench._updates_data import EVAL_SLOTS, NAMES, RELATIVES, TRAIN_SLOTS
from asem_bench.cli import main
from asem_core import InvalidInputError


def test_generator_is_deterministic_varied_and_its_splits_are_disjoint():
    a, b = generate_scenarios(40, seed=3), generate_scenarios(40, seed=3)
    assert [[t.text for t in s.turns] for s in a] == [[t.text for t in s.turns] for s in b]
    assert len({s.slot for s in a}) == len(EVAL_SLOTS)
    assert {len(s.values) - 1 for s in a} == {1, 2, 3}  # one to three changes per slot
    for s in a:
        sessions = [t.session for t in s.turns]
        assert sessions == sorted(sessions) and max(sessions) == len(s.values)  # changes spread over sessions
        assert [q.kind for q in s.questions] == ["current", "past", "ever"]
        current = s.questions[0]
        assert current.gold and current.stale and not current.gold & current.stale
        assert all(q.gold for q in s.questions)
    assert not {s.name for s in EVAL_SLOTS} & {s.name for s in TRAIN_SLOTS}
    assert not set(NAMES["eval"]) & set(NAMES["train"]) and not set(RELATIVES["eval"]) & set(RELATIVES["train"])
    train = generate_scenarios(10, split="train")
    assert {s.slot for s in train} <= {s.name for s in TRAIN_SLOTS}
    with pytest.raises(InvalidInputError):
        generate_scenarios(1, split="test")


def test_updates_command_prints_the_table_for_the_four_systems(tmp_path, capsys):
    out = tmp_path / "updates.json"
    assert main(["updates", "--scenarios", "12", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| system | current@1 |" in printed and "| ASEM-AddOnly |" in printed
    data = json.loads(out.read_text())
    assert set(data["systems"]) == {"ASEM", "ASEM-AddOnly", "Dense", "BM25"}
    for row in data["systems"].values():
        assert row["questions"] == 36
        for key in ("current@1", "stale_above_current", "past_recall@5", "ever_recall@5"):
            assert 0.0 <= row[key] <= 1.0
    asem, add_only = data["systems"]["ASEM"], data["systems"]["ASEM-AddOnly"]
    assert asem["stale_above_current"] <= add_only["stale_above_current"]
