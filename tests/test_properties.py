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
def test_no_call_in_one_scope_reaches_another(shared_mem, query):
    private = shared_mem.all(user_id="b")[0]
    assert all(h.note.id != private.id for h in shared_mem.search(query, user_id="a", k=10))
    for call in (shared_mem.get, shared_mem.history):
        with pytest.raises(NoteNotFoundError):
            call(private.id, user_id="a")
    with pytest.raises(NoteNotFoundError):
        shared_mem.feedback(1.0, [private.id], user_id="a")
    assert shared_mem.get(private.id, user_id="b").q == pytest.approx(0.5)
