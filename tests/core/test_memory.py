"""Integration tests of ASEM against a real Chroma (in-process and on disk) and the real MiniLM."""

import asyncio
import json

import pytest

from asem_core import ASEM, InvalidInputError, NoteNotFoundError, OpType

FACTS = [
    ("I adopted a dog named Buddy.", "D1:1"),
    ("My sister lives in Lisbon and works as a nurse.", "D1:2"),
    ("I started pottery classes on Thursdays.", "D1:3"),
    ("My favourite food is spicy ramen.", "D1:4"),
]


def _fill(mem, user="u1"):
    return mem.add_many(
        [{"text": t, "timestamp": "2023-05-08T13:56:00", "metadata": {"speaker": "Sam", "source_id": s}} for t, s in FACTS],
        user_id=user,
    )


def test_add_search_returns_typed_hits_with_time_and_metadata(mem):
    ops = mem.add("I adopted a dog named Buddy.", user_id="u1", timestamp="1:56 pm on 8 May, 2023", metadata={"speaker": "Caroline", "source_id": "D1:3"})
    assert [o.op for o in ops] == [OpType.ADD]
    hits = mem.search("What is my dog's name?", user_id="u1", k=5)
    assert hits and hits[0].note.id == ops[0].note_id
    note = hits[0].note
    assert note.timestamp == "2023-05-08T13:56:00"
    assert note.metadata == {"speaker": "Caroline", "source_id": "D1:3"}
    assert note.source_ids == ["D1:3"]
    assert note.keywords and note.tags and "Caroline" in note.context and "2023" in note.context
    assert note.q == pytest.approx(0.5) and note.valid and note.version == 1
    assert 0 < hits[0].similarity <= 1 and hits[0].utility == pytest.approx(0.5)


def test_scopes_are_isolated(mem):
    _fill(mem, "u1")
    mem.add("The secret code is 4711.", user_id="u2")
    assert all("4711" not in h.note.content for h in mem.search("secret code", user_id="u1", k=10))
    assert mem.search("secret code", user_id="u2")[0].note.content == "The secret code is 4711."
    assert mem.search("secret code", agent_id="u2") == []
    other = mem.all(user_id="u2")[0]
    with pytest.raises(NoteNotFoundError):
        mem.get(other.id, user_id="u1")
    with pytest.raises(NoteNotFoundError):
        mem.history(other.id, user_id="u1")
    with pytest.raises(NoteNotFoundError):
        mem.feedback(1.0, [other.id], user_id="u1")
    assert mem.get(other.id, user_id="u2").q == pytest.approx(0.5)


def test_feedback_moves_the_answer_above_a_near_duplicate_distractor(mem):
    ops = mem.add_many(
        [
            {"text": "The dog's name is Rex: that is my neighbour's dog.", "metadata": {"speaker": "Sam"}},
            {"text": "My dog is called Buddy.", "metadata": {"speaker": "Sam"}},
            {"text": "I walk to work every morning.", "metadata": {"speaker": "Sam"}},
            {"text": "Our cat sleeps on the sofa.", "metadata": {"speaker": "Sam"}},
        ],
        user_id="u1",
        link_adjacent=False,
    )
    distractor, answer = ops[0].note_id, ops[1].note_id
    query = "What is the dog's name?"
    before = [h.note.id for h in mem.search(query, user_id="u1", k=4)]
    assert before.index(distractor) < before.index(answer)
    for _ in range(3):  # the answer is confirmed three times, the distractor rejected three times
        mem.feedback(1.0, [answer], user_id="u1")
        mem.feedback(-1.0, [distractor], user_id="u1")
    after = mem.search(query, user_id="u1", k=4)
    assert after[0].note.id == answer
    assert after[0].utility == pytest.approx(0.5 + 0.5 * (1 - 0.9**3))
    assert mem.get(distractor, user_id="u1").q == pytest.approx(-1 + 1.5 * 0.9**3)
    assert mem.get(answer, user_id="u1").uses == 3


def test_feedback_defaults_to_last_search_and_validates_reward(mem):
    _fill(mem)
    hits = mem.search("dog", user_id="u1", k=2)
    updated = mem.feedback(0.0, user_id="u1")
    assert {n.id for n in updated} == {h.note.id for h in hits}
    for bad in [float("nan"), 1.5, -2, "1", True, float("inf")]:
        with pytest.raises(InvalidInputError, match="reward"):
            mem.feedback(bad, user_id="u1")
    with pytest.raises(InvalidInputError):
        mem.feedback(1.0, user_id="nobody-searched")


def test_feedback_with_a_reward_per_note_in_one_call(mem):
    ops = _fill(mem)
    a, b, c = (o.note_id for o in ops[:3])
    updated = mem.feedback({a: 1.0, b: 0.0, c: -1.0}, user_id="u1")
    assert {n.id: n.q for n in updated} == pytest.approx({a: 0.55, b: 0.45, c: 0.35})
    logged = {e["note_id"]: e["reward"] for e in mem.operations(user_id="u1") if e["op"] == "FEEDBACK"}
    assert logged == {a: 1.0, b: 0.0, c: -1.0}
    before = {n.id: n.q for n in mem.all(user_id="u1")}
    for bad, error in [
        ({}, InvalidInputError),
        ({a: 1.5}, InvalidInputError),
        ({a: 1.0, b: float("nan")}, InvalidInputError),
        ({1: 1.0}, InvalidInputError),
        ({a: 1.0, "no-such-note": 1.0}, NoteNotFoundError),
    ]:
        with pytest.raises(error):
            mem.feedback(bad, user_id="u1")
    with pytest.raises(InvalidInputError, match="not both"):
        mem.feedback({a: 1.0}, [a], user_id="u1")
    assert {n.id: n.q for n in mem.all(user_id="u1")} == before  # a rejected call changes nothing


def test_nothing_lost_add_update_delete_history_survives_reopen(tmp_path, embedder):
    path = tmp_path / "store"
    mem = ASEM(path=path, embedder=embedder)
    note_id = mem.add("I adopted a dog named Buddy.", user_id="u1", metadata={"source_id": "s1"})[0].note_id
    mem.update(note_id, "I adopted two dogs, Buddy and Scout.", user_id="u1")
    mem.delete(note_id, user_id="u1")
    assert mem.search("Buddy", user_id="u1") == []
    del mem
    reopened = ASEM(path=path, embedder=embedder)
    history = reopened.history(note_id, user_id="u1")
    assert [v.op for v in history] == [OpType.ADD, OpType.UPDATE, OpType.DELETE]
    assert [v.note.content for v in history] == ["I adopted a dog named Buddy.", "I adopted two dogs, Buddy and Scout.", "I adopted two dogs, Buddy and Scout."]
    assert [v.note.valid for v in history] == [True, True, False]
    assert [v.note.version for v in history] == [1, 2, 3]
    assert not reopened.get(note_id, user_id="u1").valid
    assert [o["op"] for o in reopened.operations(user_id="u1")] == ["ADD", "UPDATE", "DELETE"]
    # the store reopened with its indexes: a new fact is found, the deleted one is not
    reopened.add("My cat is named Tom.", user_id="u1")
    assert [h.note.content for h in reopened.search("Buddy Tom", user_id="u1", k=5)] == ["My cat is named Tom."]


def test_manager_update_and_delete_keep_both_facts(mem):
    first = mem.add("I have a dog named Buddy.", user_id="u1", metadata={"speaker": "Sam", "source_id": "a"})[0]
    upd = mem.add("I have a dog named Buddy and a cat named Tom.", user_id="u1", metadata={"speaker": "Sam", "source_id": "b"})[0]
    assert upd.op is OpType.UPDATE and upd.note_id == first.note_id
    note = mem.get(first.note_id, user_id="u1")
    assert "Buddy" in note.content and "Tom" in note.content and note.source_ids == ["a", "b"]
    dele = mem.add("I no longer have a dog named Buddy and a cat named Tom.", user_id="u1", metadata={"speaker": "Sam", "source_id": "c"})[0]
    assert dele.op is OpType.DELETE and dele.target_id == first.note_id and dele.added_id
    assert not mem.get(first.note_id, user_id="u1").valid
    assert mem.get(dele.added_id, user_id="u1").content.startswith("I no longer")
    assert mem.history(first.note_id, user_id="u1")[0].note.content == "I have a dog named Buddy."
    dup = mem.add("I no longer have a dog named Buddy and a cat named Tom.", user_id="u1", metadata={"speaker": "Sam", "source_id": "d"})[0]
    assert dup.op is OpType.NOOP and mem.get(dele.added_id, user_id="u1").source_ids == ["c", "d"]


def test_reingest_by_source_id_is_idempotent(mem):
    _fill(mem)
    again = _fill(mem)
    assert [o.op for o in again] == [OpType.NOOP] * len(FACTS)
    assert len(mem.all(user_id="u1")) == len(FACTS)


def test_links_are_stored_both_ways_and_point_to_existing_notes(mem):
    ops = _fill(mem)
    notes = {n.id: n for n in mem.all(user_id="u1")}
    assert any(n.links for n in notes.values())
    for note in notes.values():
        for link in note.links:
            assert link.target in notes
            assert any(back.target == note.id for back in notes[link.target].links)
    first, second = ops[0].note_id, ops[1].note_id
    assert any(lk.target == first and lk.relation == "follows" for lk in notes[second].links)


def test_bad_input_writes_nothing(mem):
    _fill(mem)
    before = mem.stats(user_id="u1")["notes"]
    bad_batches = [
        [{"text": "fine"}, {"text": "   "}],
        [{"text": "fine"}, {"text": 3}],
        [{"text": "fine"}, {"text": "ok", "timestamp": "zzz not a time qqq"}],
        [{"text": "fine"}, {"text": "ok", "metadata": "nope"}],
        [{"text": "fine"}, {"text": "ok", "metadata": {"x": object()}}],
        [{"text": "x" * 100_001}],
        [42],
    ]
    for batch in bad_batches:
        with pytest.raises(InvalidInputError):
            mem.add_many(batch, user_id="u1")
    assert mem.stats(user_id="u1")["notes"] == before
    with pytest.raises(InvalidInputError):
        mem.search("", user_id="u1")
    with pytest.raises(InvalidInputError):
        mem.search("dog", user_id="u1", k=0)
    with pytest.raises(NoteNotFoundError):
        mem.get("no-such-id", user_id="u1")
    with pytest.raises(NoteNotFoundError):
        mem.update("no-such-id", "text", user_id="u1")


def test_add_messages_accepts_dicts_and_message_objects(mem):
    class Msg:
        def __init__(self, type_, content):
            self.type, self.content, self.name = type_, content, None

    ops = mem.add_messages([{"role": "user", "content": "I moved to Porto last year."}, Msg("ai", "Porto is lovely in spring.")], user_id="u1")
    assert [o.op for o in ops] == [OpType.ADD, OpType.ADD]
    speakers = sorted(n.metadata["speaker"] for n in mem.all(user_id="u1"))
    assert speakers == ["ai", "user"]
    with pytest.raises(InvalidInputError):
        mem.add_messages([{"role": "user"}], user_id="u1")


def test_export_import_round_trip_keeps_every_field(mem, tmp_path, embedder):
    _fill(mem)
    nid = mem.all(user_id="u1")[0].id
    mem.update(nid, "I adopted a dog named Buddy; he is a beagle.", user_id="u1")
    mem.feedback(1.0, [nid], user_id="u1")
    dump = tmp_path / "dump.jsonl"
    assert mem.export(dump) == len(FACTS)
    copy = ASEM.ephemeral(embedder=embedder)
    assert copy.import_(dump) == len(FACTS)
    a = {n.id: n.to_dict() for n in mem.all(user_id="u1")}
    b = {n.id: n.to_dict() for n in copy.all(user_id="u1")}
    assert a == b
    assert [v.note.content for v in copy.history(nid, user_id="u1")] == [v.note.content for v in mem.history(nid, user_id="u1")]
    assert copy.search("beagle", user_id="u1")[0].note.id == nid
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"nope": 1}) + "\n")
    with pytest.raises(InvalidInputError):
        copy.import_(bad)


def test_stats_counts(mem):
    _fill(mem)
    stats = mem.stats()
    assert stats["notes"] == len(FACTS) and stats["scopes"] == 1
    for key in ("llm_calls", "prompt_tokens", "completion_tokens"):
        assert stats[key] == 0


async def test_async_twins_do_not_block_the_loop(mem):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    ops = await mem.aadd_many([{"text": t} for t, _ in FACTS], user_id="u1")
    hits = await mem.asearch("dog", user_id="u1")
    await mem.afeedback(1.0, [hits[0].note.id], user_id="u1")
    note = await mem.aget(hits[0].note.id, user_id="u1")
    task.cancel()
    assert len(ops) == len(FACTS) and note.q > 0.5
    assert ticks > 0


async def test_async_twins_of_reads_and_transfer(mem, tmp_path):
    await mem.aadd("My sister plays the violin.", user_id="u9")
    ops = await mem.aoperations(user_id="u9")
    assert [o["op"] for o in ops] == ["ADD"]
    assert (await mem.astats(user_id="u9"))["notes"] == 1
    assert await mem.aexport(tmp_path / "d.jsonl", user_id="u9") == 1
    assert await mem.aimport_(tmp_path / "d.jsonl") == 0  # the store already holds that note: nothing changes


def test_single_pass_embedding_embeds_each_fact_once_and_still_finds_it(embedder):
    mem = ASEM.ephemeral(embedder=embedder, embed_mode="single")
    mem.add_many(["Maya adopted a beagle called Rufus.", "Maya works as a nurse in Porto.", "Maya plays chess on Sundays."], user_id="maya")
    assert mem.stats(user_id="maya")["embedded_texts"] == 3
    assert "beagle" in mem.search("What dog does Maya have?", user_id="maya")[0].note.content
