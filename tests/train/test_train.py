"""asem-train: configs, states, rewards on hand-built states, and a real 2-step GRPO run on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asem_train import ManagerState, ManagerTrainConfig, format_reward, fragmentation_reward, manager_reward, score_operation
from asem_train._states import AnswerState, build_manager_states
from asem_train.cli import main, make_parser

from asem_core import ASEM, ASEMConfig, ConfigError, ModelLoadError, OpType

LOCOMO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "locomo"


def state(**changes) -> ManagerState:
    base = {
        "conversation": "c",
        "source_id": "D2:1",
        "fact": "Caroline's dog is a golden retriever.",
        "timestamp": "2023-05-09T10:00:00",
        "speaker": "Caroline",
        "neighbours": [
            {
                "id": "n1",
                "content": "Caroline adopted a dog named Buddy.",
                "timestamp": "2023-05-08",
                "speaker": "Caroline",
                "similarity": 0.8,
                "source_ids": ["D1:1"],
            },
            {"id": "n2", "content": "Melanie paints sunsets.", "timestamp": "2023-05-08", "speaker": "Melanie", "similarity": 0.3, "source_ids": ["D1:2"]},
        ],
        "questions": [
            {"question": "What breed is Caroline's dog?", "answer": "golden retriever", "evidence": ["D2:1"], "category": 4},
            {"question": "What is the name of Caroline's dog?", "answer": "Buddy", "evidence": ["D1:1"], "category": 4},
        ],
    }
    base.update(changes)
    return ManagerState(**base)


def test_rewards_on_hand_built_states() -> None:
    s = state()
    add = score_operation(s, 'ADD", "target": null, "reason": "new"}')
    assert add["valid"] and add["answer"] == 1.0 and add["fragmentation"] == 0.0
    noop = score_operation(s, 'NOOP", "target": 1, "reason": "known"}')
    assert noop["valid"] and noop["answer"] == 0.5  # the breed is lost
    delete = score_operation(s, 'DELETE", "target": 1, "reason": "x"}')
    assert delete["answer"] == 0.5  # the dog's name is lost
    update = score_operation(s, 'UPDATE", "target": 1, "content": "Caroline adopted a dog named Buddy, a golden retriever.", "reason": "breed"}')
    assert update["op"] == "UPDATE" and update["answer"] == 1.0
    bad = score_operation(s, 'MERGE", "target": 7}')
    assert not bad["valid"] and bad["format"] == -1.0 and bad["answer"] == 0.0
    hallucinated = score_operation(s, 'UPDATE", "target": 9, "content": "x"}')
    assert not hallucinated["valid"]
    dup = state(fact="Caroline adopted a dog named Buddy.")
    assert score_operation(dup, 'ADD", "target": null, "reason": "r"}')["fragmentation"] == -0.5
    # the TRL-facing functions: plain functions with **kwargs, one float per completion
    comps = ['ADD", "target": null, "reason": "r"}', "garbage"]
    states = [s.to_json(), s.to_json()]
    assert format_reward(comps, states, prompts=["p", "p"]) == [0.0, -1.0]
    assert manager_reward(comps, states) == [1.0, 0.0]
    assert fragmentation_reward(comps, states) == [0.0, 0.0]


def test_config_checks_and_yaml(tmp_path: Path) -> None:
    cfg = ManagerTrainConfig()
    assert cfg.use_cpu is True and cfg.bf16 is False  # this machine has no CUDA
    with pytest.raises(ConfigError, match="multiple of num_generations"):
        ManagerTrainConfig(per_device_train_batch_size=3, num_generations=2)
    with pytest.raises(ConfigError, match="num_generations"):
        ManagerTrainConfig(num_generations=1, per_device_train_batch_size=1)
    with pytest.raises(ConfigError, match="bf16"):
        ManagerTrainConfig(bf16=True)
    path = tmp_path / "c.yaml"
    path.write_text("max_steps: 7\nlora_r: 4\n")
    loaded = ManagerTrainConfig.load(path, lora_r=8)
    assert loaded.max_steps == 7 and loaded.lora_r == 8
    path.write_text("nonsense_field: 1\n")
    with pytest.raises(ConfigError, match="nonsense_field"):
        ManagerTrainConfig.load(path)
    import dataclasses

    assert all(f.metadata.get("help") for f in dataclasses.fields(ManagerTrainConfig))
    helptext = make_parser()._subparsers._group_actions[0].choices["manager"].format_help()  # type: ignore[union-attr]
    assert "--max-steps" in helptext and "--lora-r" in helptext


def test_states_from_locomo(locomo_dir: Path, embedder) -> None:
    from asem_core.locomo import load_locomo

    conv = load_locomo(locomo_dir / "conv-26.json")
    states = build_manager_states(conv, embedder, max_turns=80)
    assert states and all(max(n["similarity"] for n in s.neighbours) >= ASEMConfig().llm_manager_gate for s in states)
    assert any(s.questions for s in states)
    again = ManagerState.from_json(states[0].to_json())
    assert again == states[0] and again.messages()[-1]["content"].startswith("MEMORIES:")
    assert AnswerState.from_json(AnswerState("c", "q?", "a", 1, []).to_json()).question == "q?"


def test_update_states_score_the_memory_after_the_operation(embedder) -> None:
    """Generated scenarios give states with the truth; the current-value reward judges outcomes, not labels."""
    from asem_train import build_update_states, current_score
    from asem_train._states import state_note

    from asem_bench._updates import generate_scenarios
    from asem_core import Decision, HeuristicManager

    scenarios = generate_scenarios(12, split="train")
    states = build_update_states(scenarios, embedder)
    assert states and all(s.truth and s.source_id in s.truth for s in states)
    changes = [
        s
        for s in states
        if any(
            n["speaker"] == s.speaker
            and s.truth.get(n["source_ids"][0], [""])[0] == s.truth[s.source_id][0]
            and s.truth[n["source_ids"][0]][1] != s.truth[s.source_id][1]
            for n in s.neighbours
        )
    ]
    assert changes, "some states announce a new value of a slot the memory holds"
    s = changes[0]
    old = next(n for n in s.neighbours if s.truth.get(n["source_ids"][0], [""])[0] == s.truth[s.source_id][0])
    assert current_score(s, Decision(OpType.DELETE, "r", old["id"])) == 1.0  # old value gone, new one held
    assert current_score(s, Decision(OpType.UPDATE, "r", old["id"], "merged")) == 1.0
    assert current_score(s, Decision(OpType.ADD, "r", supersedes=old["id"])) == 1.0  # the old note is marked superseded
    assert current_score(s, Decision(OpType.ADD, "r")) == 0.5  # the stale note still looks current
    assert current_score(s, Decision(OpType.NOOP, "r", old["id"])) < 0.5  # the new value is lost
    heuristic = HeuristicManager().decide(s.fact_obj(), s.neighbour_objs())
    assert current_score(s, heuristic) == 1.0 and state_note(old).id == old["id"]
    # merging a fact into a note about another subject is penalised
    other = next((n for n in s.neighbours if s.truth.get(n["source_ids"][0], [""])[0] not in ("", s.truth[s.source_id][0])), None)
    if other is not None:
        assert current_score(s, Decision(OpType.UPDATE, "r", other["id"], "merged")) < 1.0
    assert ManagerState.from_json(s.to_json()) == s
    assert current_score(state(), Decision(OpType.ADD, "r")) == 0.0  # LoCoMo states have no truth


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, locomo_dir_module: Path) -> Path:
    out = tmp_path_factory.mktemp("run") / "manager"
    code = main(
        [
            "manager",
            "--data",
            str(locomo_dir_module),
            "--conversations",
            "conv-26",
            "--max-turns",
            "80",
            "--max-states",
            "4",
            "--max-steps",
            "2",
            "--num-generations",
            "4",
            "--per-device-train-batch-size",
            "4",
            "--max-completion-length",
            "40",
            "--learning-rate",
            "0.002",
            "--update-scenarios",
            "4",
            "--eval-update-scenarios",
            "2",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def locomo_dir_module() -> Path:
    if not LOCOMO.is_dir():
        pytest.skip("LoCoMo data not found")
    return LOCOMO


def test_two_grpo_steps_change_the_adapter_and_it_loads_into_asem(trained: Path, embedder) -> None:
    from safetensors.torch import load_file

    weights = load_file(str(trained / "adapter" / "adapter_model.safetensors"))
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and any(float(v.abs().max()) > 0 for v in lora_b)  # LoRA B starts at zero: training moved it
    log = [json.loads(line) for line in (trained / "log.jsonl").read_text().splitlines()]
    assert any("reward" in r and "kl" in r and "loss" in r for r in log)
    assert (trained / "config.yaml").exists() and (trained / "README.md").exists() and (trained / "reward_curve.png").exists()
    # the held-out knowledge-update evaluation ran for the four policies and is in the model card
    updates = json.loads((trained / "eval.json").read_text())["updates"]
    assert set(updates["policies"]) == {"heuristic", "prompted", f"grpo:{trained}", "add-only"} and updates["states"] > 0
    assert all(0.0 <= row["current@1"] <= 1.0 and 0.0 <= row["valid_reply_rate"] <= 1.0 for row in updates["policies"].values())
    assert updates["policies"]["add-only"]["op_mix"] == {"ADD": updates["states"]}
    assert "Held-out knowledge-update scenarios" in (trained / "README.md").read_text()
    mem = ASEM.ephemeral(embedder=embedder, manager=f"grpo:{trained}")
    assert mem.manager.name.startswith("grpo:")
    mem.add("Caroline adopted a dog named Buddy.", metadata={"speaker": "Caroline"})
    (op,) = mem.add("Caroline adopted a dog named Buddy last week.", metadata={"speaker": "Caroline"})
    assert op.op in (OpType.ADD, OpType.UPDATE, OpType.DELETE, OpType.NOOP)
    assert mem.stats()["notes"] >= 1


def test_incompatible_adapter_is_a_clear_error(tmp_path: Path, trained: Path) -> None:
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(trained, bad)
    card = json.loads((bad / "asem_manager.json").read_text())
    card["base_model"] = str(tmp_path / "no-such-model")
    (bad / "asem_manager.json").write_text(json.dumps(card))
    (bad / "adapter" / "asem_manager.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError):
        ASEM.ephemeral(manager=f"grpo:{bad}")
    (bad / "adapter" / "adapter_model.safetensors").write_bytes(b"not weights")
    card["base_model"] = "smollm2"
    (bad / "adapter" / "asem_manager.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match=r"does not fit|could not"):
        ASEM.ephemeral(manager=f"grpo:{bad}")


def test_answer_trainer_runs_two_steps_and_rewards_f1(tmp_path: Path, locomo_dir_module: Path) -> None:
    from asem_train import answer_f1_reward, answer_reward

    s = AnswerState("c", "What is the dog's name?", "Buddy", 4, [{"id": "n1", "content": "My dog is Buddy.", "timestamp": "", "speaker": "Sam"}]).to_json()
    adv = AnswerState("c", "What is the cat's name?", "not mentioned", 5, []).to_json()
    assert answer_f1_reward(['Buddy", "used": [1]}', 'Rex"}'], [s, s]) == [1.0, 0.0]
    assert answer_f1_reward(['not mentioned"}'], [adv]) == [1.0]  # refusing an adversarial question is right
    assert answer_reward(['Buddy", "used": [1]}'], [s]) == [0.0]
    out = tmp_path / "answer"
    args = ["answer", "--data", str(locomo_dir_module), "--conversations", "conv-26", "--max-turns", "60", "--max-states", "4", "--max-steps", "2"]
    args += ["--num-generations", "2", "--per-device-train-batch-size", "2", "--max-completion-length", "16", "--output", str(out)]
    code = main(args)
    assert code == 0
    assert (out / "adapter" / "adapter_model.safetensors").exists() and json.loads((out / "asem_manager.json").read_text())["kind"] == "answer"
    assert any("reward" in json.loads(line) for line in (out / "log.jsonl").read_text().splitlines())
