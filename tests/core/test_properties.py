"""Property-based tests (hypothesis) of the utility update, scope isolation and input validation."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asem_core import ASEM, InvalidInputError, NoteNotFoundError

rewards = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


@pytest.fixture(scope="module")
def shared_mem(embedder):
    mem = ASEM.ephemeral(embedder=embedder)
    mem.add_many([{"text": f"Fact number {i} about topic {t}"} for i, t in enumerate(["dogs", "tea", "Lisbon"])], user_id="a")
    mem.add_many([{"text": "Private fact of user b about dogs"}], user_id="b")
    return mem


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rewards, min_size=1, max_size=8))
def test_utility_is_the_ema_of_rewards_and_stays_in_range(shared_mem, rs):
    note = shared_mem.all(user_id="a")[0]
    q = note.q
    for r in rs:
        shared_mem.feedback(r, [note.id], user_id="a")
        q = q + shared_mem.config.alpha * (r - q)
    got = shared_mem.get(note.id, user_id="a").q
    assert got == pytest.approx(q, abs=1e-6)
    assert -1.0 <= got <= 1.0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.floats(allow_nan=True).filter(lambda x: math.isnan(x) or abs(x) > 1), st.text(), st.none(), st.booleans()))
def test_bad_rewards_change_nothing(shared_mem, reward):
    note = shared_mem.all(user_id="a")[0]
    with pytest.raises(InvalidInputError):
        shared_mem.feedback(reward, [note.id], user_id="a")
    assert shared_mem.get(note.id, user_id="a").q == note.q


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_no_call_in_one_scope_reaches_another(shared_mem, tmp_path_factory, query):
    private = shared_mem.all(user_id="b")[0]
    assert all(h.note.id != private.id for h in shared_mem.search(query, user_id="a", k=10))
    for call in (shared_mem.get, shared_mem.history):
        with pytest.raises(NoteNotFoundError):
            call(private.id, user_id="a")
    with pytest.raises(NoteNotFoundError):
        shared_mem.feedback(1.0, [private.id], user_id="a")
    assert shared_mem.get(private.id, user_id="b").q == pytest.approx(0.5)
    dump = tmp_path_factory.mktemp("export") / "a.jsonl"
    shared_mem.export(dump, user_id="a")
    assert private.id not in dump.read_text()


ops_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(["tea", "Lisbon", "violin", "garden", "ramen", "chess"]), st.integers(0, 99)),
        st.tuples(st.just("update"), st.integers(0, 20), st.integers(0, 99)),
        st.tuples(st.just("delete"), st.integers(0, 20), st.just(0)),
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops_strategy)
def test_store_matches_a_model_and_keeps_every_version(embedder, ops):
    mem = ASEM.ephemeral(embedder=embedder)
    model: dict[str, list[tuple[str, bool]]] = {}  # note id -> versions (content, valid)
    order: list[str] = []
    for kind, a, b in ops:
        if kind == "add":
            op = mem.add(f"Note about {a} number {b}.", user_id="m", metadata={"source_id": f"{a}-{b}"})[0]
            if op.op.value == "ADD":
                model[op.note_id] = [(f"Note about {a} number {b}.", True)]
                order.append(op.note_id)
            elif op.note_id in model:  # UPDATE, or NOOP that merged provenance: each new version is recorded
                note = mem.get(op.note_id, user_id="m")
                while len(model[op.note_id]) < note.version:
                    model[op.note_id].append((note.content, note.valid))
        elif order:
            nid = order[a % len(order)]
            content, valid = model[nid][-1]
            if kind == "update" and valid:
                mem.update(nid, f"{content} Revised {b}.", user_id="m")
                model[nid].append((f"{content} Revised {b}.", True))
            elif kind == "delete" and valid:
                mem.delete(nid, user_id="m")
                model[nid].append((content, False))
    assert {n.id for n in mem.all(user_id="m", include_invalid=True)} == set(model)
    assert {n.id for n in mem.all(user_id="m")} == {nid for nid, vs in model.items() if vs[-1][1]}
    for nid, versions in model.items():
        history = mem.history(nid, user_id="m")
        assert [(v.note.content, v.note.valid) for v in history][-len(versions) :] == versions
