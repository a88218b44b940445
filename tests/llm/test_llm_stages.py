"""LLM stages: JSON repair, the malformed-reply corpus, fallbacks, evolution, the LangChain backend.

The replies here come from a scripted model (a real implementation of the ``LLM`` protocol
that returns given text): the point is what ASEM does with each reply, which a real small
model cannot be made to produce on demand. The real SmolLM2 runs in ``test_llm_real.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from asem_core import ASEM, ASEMConfig, ConfigError, ModelLoadError, OpType
from asem_core._answering import REFUSAL, parse_answer
from asem_core._construction import resolve_relative_dates
from asem_core._text import content_words
from asem_core.llm import Generation, Message, ReplyError, extract_json, json_closed, looping


class ScriptedLLM:
    """Returns ``reply(stage_prompt)``; records the prompts it saw."""

    name = "scripted"

    def __init__(self, reply: Callable[[Sequence[Message]], str]) -> None:
        self.reply = reply
        self.prompts: list[Sequence[Message]] = []

    def generate(self, prompts: Sequence[Sequence[Message]], *, max_new_tokens: int = 256, prefix: str = "") -> list[Generation]:
        self.prompts.extend(prompts)
        out = []
        for p in prompts:
            text = self.reply(p)
            out.append(Generation(text, 10, len(text) // 4))
        return out


def stage_of(prompt: Sequence[Message]) -> str:
    system = prompt[0]["content"]
    if "maintain a memory" in system:
        return "manage"
    if "memory notes" in system:
        return "construct"
    if "connect memories" in system:
        return "link"
    return "answer"


# ------------------------------------------------------------------ the corpus
VALID_MANAGER = [
    {"op": "UPDATE", "target": 1, "content": "Caroline has a dog named Buddy, a golden retriever.", "reason": "adds the breed"},
    {"op": "ADD", "target": None, "reason": "new"},
    {"op": "DELETE", "target": 1, "reason": "contradiction"},
]


def malformed_manager_replies() -> list[str]:
    """At least 150 broken manager replies, made by breaking valid ones in every way small models do."""
    out: list[str] = []
    for base in VALID_MANAGER:
        text = json.dumps(base)
        out += [text[:cut] for cut in range(1, len(text), max(1, len(text) // 25))]  # truncated
        out += [
            f"Sure! Here is my decision:\n{text}\nLet me know if you need more.",  # prose around
            f"```json\n{text}\n```",  # code fence
            text.replace('"', "'"),  # single quotes
            text.replace("}", ", }"),  # trailing comma
            text.replace("null", "None"),  # python literal
            json.dumps({**base, "op": base["op"].lower()}),  # lower-case op
            json.dumps({**base, "op": 3}),  # wrong type
            json.dumps({**base, "target": "abc"}),  # non-numeric target
            json.dumps({**base, "target": 99}),  # out-of-range number
            json.dumps({**base, "target": -1}),
            json.dumps({**base, "target": "3f2a9c0e5b7d4e1fa2c3d4e5f6a7b8c9"}),  # hallucinated id
            json.dumps({**base, "target": [1, 2]}),  # wrong type
            json.dumps({**base, "op": "MERGE"}),  # unknown op
            json.dumps({k: v for k, v in base.items() if k != "op"}),  # missing op
            json.dumps([base]),  # array instead of object
            json.dumps({**base, "content": "x" * 5000}),  # over-long content
            json.dumps({**base, "content": ""}),
            json.dumps({**base, "reason": 42}),
            text + text,  # two objects
            "{" + text,  # extra brace
        ]
    out += ["", " ", "\n", "null", "[]", "{}", "ADD", "I think we should add it.", "{{{{", "}}}}", '{"op":', '{"op": "UPDATE", "target": ']
    out += [json.dumps({"op": "UPDATE"}), json.dumps({"op": "DELETE"}), json.dumps({"op": "UPDATE", "target": None, "content": "x"})]
    return out


def malformed_construct_replies() -> list[str]:
    good = {"notes": [{"i": 1, "fact": "Caroline adopted a dog named Buddy.", "keywords": ["dog", "Buddy"], "tags": ["pets"], "context": "Caroline, May 2023"}]}
    text = json.dumps(good)
    out = [text[:cut] for cut in range(1, len(text), 3)]
    note = good["notes"][0]
    for change in (
        {"keywords": []},
        {"keywords": "dog, Buddy"},
        {"keywords": [""] * 3},
        {"tags": []},
        {"context": ""},
        {"context": "c" * 2000},
        {"fact": "The moon is made of cheese and pirates sail it."},
        {"fact": ""},
        {"fact": 12},
        {"i": 7},
        {"i": "one"},
    ):
        out.append(json.dumps({"notes": [{**note, **change}]}))
    out += ["", "notes: none", json.dumps({"notes": "dog"}), json.dumps({"notes": []}), json.dumps(note), f"Here you go: {text} bye", text.replace('"', "'")]
    return out


def test_corpus_has_at_least_200_malformed_replies() -> None:
    assert len(malformed_manager_replies()) + len(malformed_construct_replies()) >= 200


# ------------------------------------------------------------------ parsing
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('noise {"a": 1} noise', {"a": 1}),
        ('```json\n{"a": [1, 2,]}\n```', {"a": [1, 2]}),
        ('{"a": "unterminated', {"a": "unterminated"}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ("{'a': 'single'}", {"a": "single"}),
        ('{"a": True, "b": None}', {"a": True, "b": None}),
        ('{"a": 1, "b":', {"a": 1}),
    ],
)
def test_extract_json_repairs(text: str, expected: dict) -> None:
    assert extract_json(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "no json here", "[1, 2]", "{not json at all"])
def test_extract_json_rejects_with_reason(text: str) -> None:
    with pytest.raises(ReplyError):
        extract_json(text)


def test_generation_stops_on_closed_json_and_loops() -> None:
    assert json_closed('{"a": {"b": "}"}}') and not json_closed('{"a": {"b": 1}')
    assert looping('"tags": ["x", "x", ' * 10) and not looping("a normal sentence without any loop in it at all, really none")


def test_relative_dates_are_resolved_from_the_session_time() -> None:
    ts = "2023-05-08T13:56:00"  # a Monday
    assert resolve_relative_dates("I went there yesterday.", ts) == "I went there yesterday (7 May 2023)."
    assert "(6 May 2023)" in resolve_relative_dates("We met last Saturday", ts)
    assert "(April 2023)" in resolve_relative_dates("It was last month", ts)
    assert "(2022)" in resolve_relative_dates("Since last year", ts)
    assert resolve_relative_dates("No dates here.", ts) == "No dates here."
    assert resolve_relative_dates("yesterday", "not a time") == "yesterday"


# ------------------------------------------------------------------ the manager corpus through ASEM
def words(text: str) -> set[str]:
    return {w.removesuffix("'s") for w in content_words(text)}


OLD = "Caroline has a dog named Buddy."
NEW = "Caroline's dog Buddy is a golden retriever."


def test_manager_corpus_never_loses_a_fact(embedder) -> None:
    replies = malformed_manager_replies()
    assert len(replies) >= 150
    current = {"reply": ""}
    llm = ScriptedLLM(lambda p: current["reply"] if stage_of(p) == "manage" else "")
    cfg = ASEMConfig(llm_stages=("manage",), llm_manager_gate=-1.0, llm_calls_per_turn=None)  # every retry allowed
    mem = ASEM.ephemeral(embedder=embedder, llm=llm, config=cfg)
    assert mem.manager.name == "prompted"
    outcomes: dict[str, int] = {}
    for i, reply in enumerate(replies):
        user = f"u{i}"
        current["reply"] = ""  # the first note has no neighbour: ADD without asking
        (first,) = mem.add(OLD, user_id=user, metadata={"speaker": "Caroline"})
        current["reply"] = reply
        (op,) = mem.add(NEW, user_id=user, metadata={"speaker": "Caroline"})
        outcomes[op.op.value] = outcomes.get(op.op.value, 0) + 1
        valid = mem.all(user_id=user)
        text = " ".join(n.content for n in valid)
        # the new fact is kept (its own note, or merged) unless a valid NOOP said it is known
        assert op.op is OpType.NOOP or words(NEW) <= words(text), (reply, op)
        # the old fact is still readable: valid, or in the history of its note
        history = mem.history(first.note_id, user_id=user)
        assert history[0].note.content == OLD, reply
        assert OLD in text or any(v.note.content == OLD for v in history)
        # no note was ever made from a hallucinated id
        assert all(n.scope.user_id == user for n in valid)
    usage = mem.stats()["llm_stages"]["manage"]
    assert usage["fallbacks"] > 50 and usage["retries"] >= usage["fallbacks"]
    assert outcomes.get("UPDATE", 0) > 0 and outcomes.get("ADD", 0) > 0


def test_construct_corpus_keeps_every_field_filled(embedder) -> None:
    replies = malformed_construct_replies()
    current = {"reply": ""}
    llm = ScriptedLLM(lambda p: current["reply"] if stage_of(p) == "construct" else "")
    mem = ASEM.ephemeral(embedder=embedder, llm=llm, config=ASEMConfig(llm_stages=("construct",)))
    for i, reply in enumerate(replies):
        current["reply"] = reply
        raw = "I adopted a dog named Buddy yesterday."
        (op,) = mem.add(raw, user_id=f"c{i}", timestamp="2023-05-08T10:00:00", metadata={"speaker": "Caroline"})
        note = mem.get(op.note_id, user_id=f"c{i}")
        assert note.keywords and note.tags and note.context, reply
        assert all(isinstance(k, str) and 0 < len(k) <= 40 for k in note.keywords + note.tags)
        assert len(note.context) <= 300
        assert "cheese" not in note.content  # a hallucinated fact is rejected
        if note.content != raw:
            assert note.metadata["raw_text"] == raw  # the turn stays the provenance
    assert mem.stats()["llm_stages"]["construct"]["calls"] >= len(replies)


def test_a_good_construction_reply_is_used(embedder) -> None:
    reply = json.dumps(
        {
            "notes": [
                {
                    "i": 1,
                    "fact": "Caroline adopted a dog named Buddy yesterday.",
                    "keywords": ["dog", "Buddy", "adoption"],
                    "tags": ["pets"],
                    "context": "Caroline talking about her new dog",
                }
            ]
        }
    )
    mem = ASEM.ephemeral(embedder=embedder, llm=ScriptedLLM(lambda p: reply), config=ASEMConfig(llm_stages=("construct",)))
    (op,) = mem.add("I adopted a dog named Buddy yesterday.", timestamp="2023-05-08", metadata={"speaker": "Caroline"})
    note = mem.get(op.note_id)
    assert note.content == "Caroline adopted a dog named Buddy yesterday (7 May 2023)."
    assert note.keywords == ["dog", "Buddy", "adoption"] and note.tags == ["pets"] and note.context == "Caroline talking about her new dog"
    assert note.metadata["raw_text"] == "I adopted a dog named Buddy yesterday."
    # the raw turn is searchable too (lexical channel)
    assert mem.search("adopted dog", k=1)[0].note.id == note.id


# ------------------------------------------------------------------ links and evolution
def test_evolution_relabels_links_reembeds_and_keeps_history(embedder) -> None:
    plan = json.dumps({"links": [{"id": 1, "relation": "same pet"}], "evolve": [{"id": 1, "tags": ["dogs", "Buddy"], "context": "Buddy, Caroline's dog"}]})
    llm = ScriptedLLM(lambda p: plan if stage_of(p) == "link" else "")
    mem = ASEM.ephemeral(embedder=embedder, llm=llm, config=ASEMConfig(llm_stages=("link",), link_threshold=0.2, llm_link_gate=0.2))
    (first,) = mem.add("Caroline adopted a dog named Buddy.", metadata={"speaker": "Caroline"})
    before = mem.get(first.note_id)
    emb_before = np.asarray(mem.store._collection(before.scope, "n").get(ids=[before.id], include=["embeddings"])["embeddings"][0])
    (second,) = mem.add("Buddy the dog loves playing fetch.", metadata={"speaker": "Caroline"})
    after = mem.get(first.note_id)
    assert after.tags == ["dogs", "Buddy"] and after.context == "Buddy, Caroline's dog"
    assert after.version == before.version + 1
    emb_after = np.asarray(mem.store._collection(after.scope, "n").get(ids=[after.id], include=["embeddings"])["embeddings"][0])
    assert float(np.abs(emb_after - emb_before).max()) > 1e-3  # re-embedded
    history = mem.history(first.note_id)
    assert [v.op for v in history] == [OpType.ADD, OpType.EVOLVE]
    assert history[0].note.tags == before.tags and history[0].note.context == before.context
    new = mem.get(second.note_id)
    assert any(lk.target == first.note_id and lk.relation == "same pet" for lk in new.links)
    assert any(lk.target == second.note_id and lk.relation == "same pet" for lk in after.links)


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "{",
        json.dumps({"links": [{"id": 9, "relation": "x"}]}),
        json.dumps({"links": [{"id": "a", "relation": "x"}]}),
        json.dumps({"links": [], "evolve": [{"id": 1, "tags": [], "context": ""}]}),
        json.dumps({"links": [], "evolve": [{"id": 1, "tags": ["t"], "context": "c" * 1000}]}),
        json.dumps({"evolve": [{"id": 5, "tags": ["t"], "context": "c"}]}),
    ],
)
def test_bad_link_replies_keep_similarity_links(embedder, reply: str) -> None:
    llm = ScriptedLLM(lambda p: reply if stage_of(p) == "link" else "")
    mem = ASEM.ephemeral(embedder=embedder, llm=llm, config=ASEMConfig(llm_stages=("link",), link_threshold=0.2, llm_link_gate=0.2))
    (first,) = mem.add("Caroline adopted a dog named Buddy.")
    before = mem.get(first.note_id)
    (second,) = mem.add("Buddy the dog loves playing fetch.")
    after = mem.get(first.note_id)
    assert after.tags == before.tags and after.context == before.context  # nothing evolved
    assert any(lk.target == second.note_id for lk in after.links)
    assert [v.op for v in mem.history(first.note_id)] == [OpType.ADD]


@pytest.mark.parametrize(
    ("reply", "relation"),
    [
        ('{"links": [1]}', "related"),  # bare ids: repaired to an unlabelled link
        ('{"links": [{"id": 1, "relation": "..."}]}', "related"),  # a placeholder is no label
        ('{"links": [{"id": 1, "relation": "same pet"}, {"id": 7, "relation": "x"}]}', "same pet"),  # id 7 dropped
    ],
)
def test_link_replies_are_repaired_not_failed(embedder, reply: str, relation: str) -> None:
    llm = ScriptedLLM(lambda p: reply if stage_of(p) == "link" else "")
    mem = ASEM.ephemeral(embedder=embedder, llm=llm, config=ASEMConfig(llm_stages=("link",), link_threshold=0.2, llm_link_gate=0.2))
    (first,) = mem.add("Caroline adopted a dog named Buddy.")
    (second,) = mem.add("Buddy the dog loves playing fetch.")
    new = mem.get(second.note_id)
    assert [lk.relation for lk in new.links if lk.target == first.note_id] == [relation]
    usage = mem.llm.stage("link")
    assert usage.fallbacks == 0 and usage.retries == 0
    assert usage.rejected == (1 if '"id": 7' in reply else 0)


def test_link_evolution_copied_from_the_prompt_example_is_rejected(embedder) -> None:
    from asem_core._linking import _EXAMPLE_CONTEXT, _EXAMPLE_TAGS

    plan = json.dumps({"links": [{"id": 1, "relation": "same pet"}], "evolve": [{"id": 1, "tags": list(_EXAMPLE_TAGS), "context": _EXAMPLE_CONTEXT}]})
    llm = ScriptedLLM(lambda p: plan if stage_of(p) == "link" else "")
    mem = ASEM.ephemeral(embedder=embedder, llm=llm, config=ASEMConfig(llm_stages=("link",), link_threshold=0.2, llm_link_gate=0.2))
    (first,) = mem.add("Caroline adopted a dog named Buddy.")
    before = mem.get(first.note_id)
    mem.add("Buddy the dog loves playing fetch.")
    after = mem.get(first.note_id)
    assert (after.tags, after.context, after.version) == (before.tags, before.context, before.version)
    assert mem.llm.stage("link").rejected == 1


# ------------------------------------------------------------------ the ingest call budget
def test_call_budget_carries_over_and_never_overspends() -> None:
    from asem_core.llm import MeteredLLM

    llm = MeteredLLM(ScriptedLLM(lambda p: "{}"))
    prompt: list[Message] = [{"role": "user", "content": "x"}]
    with llm.budget(3, 0.5):  # 1.5 earned: one prompt may go
        assert llm.room() == 1
        llm.generate([prompt], stage="s")
        assert llm.room() == 0
    with llm.budget(1, 0.5):  # 0.5 left over + 0.5: one more
        assert llm.room() == 1
    with llm.budget(1, 0.5):  # unspent allowance carried: 1.0 + 0.5
        assert llm.room() == 1
    assert llm.room() is None  # outside a budget nothing is capped
    with llm.budget(100, None):
        assert llm.room() is None


@pytest.mark.parametrize("per_turn", [0.5, 1.0])
def test_ingest_stays_within_the_call_budget_and_keeps_every_fact(embedder, per_turn: float) -> None:
    # every reply is invalid, so every stage retries: the worst case for the call count
    llm = ScriptedLLM(lambda p: "no json here")
    cfg = ASEMConfig(llm_calls_per_turn=per_turn, llm_manager_gate=-1.0, llm_link_gate=-1.0, link_threshold=-1.0)
    mem = ASEM.ephemeral(embedder=embedder, llm=llm, config=cfg)
    facts = [
        "Caroline adopted a dog named Buddy.",
        "Melanie painted a sunrise over the lake.",
        "Jon lost his job at the bank in January.",
        "Gina opened an online clothing store.",
        "Caroline's dog Buddy is a golden retriever.",
        "Melanie runs a marathon every spring.",
        "Jon wants to start a dance studio.",
        "Gina's store sells handmade jewellery.",
        "Caroline is studying to become a counsellor.",
        "Melanie's kids love camping in the forest.",
        "Jon visited Paris with his cousin.",
        "Gina learned pottery from her grandmother.",
        "Caroline goes to a support group on Tuesdays.",
        "Melanie plays the violin in a community orchestra.",
        "Jon's studio opened with twenty students.",
        "Gina adopted two cats from the shelter.",
    ]
    mem.add_many([{"text": f, "metadata": {"speaker": "Caroline"}} for f in facts[:8]], user_id="u")
    mem.add_many([{"text": f, "metadata": {"speaker": "Caroline"}} for f in facts[8:]], user_id="u")
    extra = ["Caroline bought a red bicycle.", "Melanie baked bread for her neighbours.", "Jon started learning Spanish."]
    for f in extra:
        mem.add(f, user_id="u", metadata={"speaker": "Caroline"})
    stats = mem.stats(user_id="u")
    assert stats["llm_calls"] <= per_turn * (len(facts) + len(extra))
    assert len(llm.prompts) == stats["llm_calls"]
    assert sum(s["skipped"] for s in stats["llm_stages"].values()) > 0
    text = " ".join(n.content for n in mem.all(user_id="u"))
    assert all(f[:-1] in text for f in facts + extra)  # nothing dropped for want of a reply


def test_no_budget_sends_every_prompt(embedder) -> None:
    llm = ScriptedLLM(lambda p: "no json here")
    cfg = ASEMConfig(llm_calls_per_turn=None, llm_manager_gate=-1.0, llm_link_gate=-1.0, link_threshold=-1.0)
    mem = ASEM.ephemeral(embedder=embedder, llm=llm, config=cfg)
    mem.add_many([{"text": f"Caroline went to the park on day {i}."} for i in range(6)], user_id="u")
    stats = mem.stats(user_id="u")
    assert stats["llm_calls"] > 6 and sum(s["skipped"] for s in stats["llm_stages"].values()) == 0


@pytest.mark.parametrize("bad", [0, -1.0, "1"])
def test_bad_call_budget_is_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match="llm_calls_per_turn"):
        ASEMConfig(llm_calls_per_turn=bad)  # type: ignore[arg-type]


# ------------------------------------------------------------------ answers and consolidation
def test_parse_answer_never_raises_and_detects_refusal(embedder) -> None:
    mem = ASEM.ephemeral(embedder=embedder)
    mem.add("Caroline's dog is called Buddy.")
    notes = mem.all()
    cases = ['{"answer": "Buddy", "used": [1]}', '{"answer": "Buddy", "used": [7, "x"]}', "Buddy", "", '{"answer": "not mentioned"}', "I don't know."]
    for text in cases + malformed_manager_replies():
        ans = parse_answer(text, notes)
        assert isinstance(ans.text, str) and set(ans.used_ids) <= {n.id for n in notes}
        assert ans.refused == (ans.text == REFUSAL)
    assert parse_answer('{"answer": "Buddy", "used": [1]}', notes).used_ids == [notes[0].id]
    assert parse_answer("Buddy", notes).used_ids == [notes[0].id]  # distilled by word overlap
    assert parse_answer("I don't know.", notes).refused
    assert parse_answer('{"answer": "Buddy"}', []).refused  # nothing retrieved


def test_answer_and_consolidate(embedder) -> None:
    llm = ScriptedLLM(lambda p: '{"answer": "Buddy", "used": [1]}' if "MEMORIES" in p[-1]["content"] else "Check the pet notes first.")
    mem = ASEM.ephemeral(embedder=embedder, llm=llm, config=ASEMConfig(llm_stages=()))
    mem.add("Caroline's dog is called Buddy.", user_id="u")
    ans = mem.answer("What is the dog's name?", user_id="u")
    assert ans.text == "Buddy" and not ans.refused and len(ans.used_ids) == 1
    (note,) = mem.feedback(1.0, ans.used_ids, user_id="u")
    assert note.q > 0.5
    op = mem.consolidate("What is the dog's name?", ans.text, 1.0, user_id="u")
    exp = mem.get(op.note_id, user_id="u")
    assert op.op is OpType.ADD and exp.q == 0.5 and exp.metadata["kind"] == "experience"
    assert exp.content.startswith("Check the pet notes first.") and "Buddy" in exp.content
    stages = mem.stats()["llm_stages"]
    assert stages["answer"]["calls"] == 1 and stages["consolidate"]["calls"] == 1


def test_llm_free_memory_refuses_answer_but_consolidates(embedder) -> None:
    mem = ASEM.ephemeral(embedder=embedder)
    with pytest.raises(ConfigError, match="needs an LLM"):
        mem.answer("anything?")
    op = mem.consolidate("Where is Paris?", "France", 1.0)
    assert "France" in mem.get(op.note_id).content
    assert mem.stats()["llm_calls"] == 0


# ------------------------------------------------------------------ configuration and backends
def test_bad_llm_and_manager_options() -> None:
    with pytest.raises(ConfigError, match="llm must be"):
        ASEM.ephemeral(llm=42)
    with pytest.raises(ConfigError, match="needs an LLM"):
        ASEM.ephemeral(manager="prompted")
    with pytest.raises(ModelLoadError, match="no trained manager"):
        ASEM.ephemeral(manager="grpo:/nonexistent/run")
    with pytest.raises(ConfigError, match="llm_stages"):
        ASEMConfig(llm_stages=("construct", "dream"))


def test_langchain_chat_model_backend_counts_calls(embedder) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    replies = [json.dumps({"notes": [{"i": 1, "fact": "Sam bought a red bike.", "keywords": ["bike"], "tags": ["sport"], "context": "Sam"}]})]
    chat = FakeListChatModel(responses=replies * 10)
    mem = ASEM.ephemeral(embedder=embedder, llm=chat, config=ASEMConfig(llm_stages=("construct",)))
    (op,) = mem.add("I bought a red bike.", metadata={"speaker": "Sam"})
    assert mem.get(op.note_id).content == "Sam bought a red bike."
    stats = mem.stats()
    assert stats["llm_calls"] == 1 and stats["prompt_tokens"] > 0 and stats["completion_tokens"] > 0
    assert set(stats["llm_stages"]) == {"construct"}
