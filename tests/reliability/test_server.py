"""ASEM against a real `chroma run` server on 127.0.0.1."""

import pytest

from asem_core import ASEM, OpType, StoreUnavailableError
from conftest import free_port

pytestmark = pytest.mark.integration


def test_core_flow_through_a_server(server, embedder):
    mem = ASEM(url=server, embedder=embedder)
    ops = mem.add_many(
        [
            {"text": "I adopted a dog named Buddy.", "metadata": {"speaker": "Sam", "source_id": "s1"}},
            {"text": "My sister lives in Lisbon.", "metadata": {"speaker": "Sam", "source_id": "s2"}},
        ],
        user_id="server-u1",
    )
    assert [o.op for o in ops] == [OpType.ADD, OpType.ADD]
    hits = mem.search("dog's name", user_id="server-u1")
    assert hits[0].note.content == "I adopted a dog named Buddy."
    mem.feedback(1.0, [hits[0].note.id], user_id="server-u1")
    mem.update(hits[0].note.id, "I adopted two dogs, Buddy and Scout.", user_id="server-u1")
    # a second client (as another process would) sees the same notes, utilities and history
    other = ASEM(url=server, embedder=embedder)
    assert other.get(hits[0].note.id, user_id="server-u1").q == pytest.approx(0.55)
    assert [v.op for v in other.history(hits[0].note.id, user_id="server-u1")] == [OpType.ADD, OpType.UPDATE]
    assert [o.op for o in other.add_many([{"text": "I adopted a dog named Buddy.", "metadata": {"source_id": "s1"}}], user_id="server-u1")] == [OpType.NOOP]
    assert other.search("Lisbon", user_id="server-u2") == []


def test_a_server_that_is_down_gives_a_typed_error(embedder):
    with pytest.raises(StoreUnavailableError, match="unavailable"):
        ASEM(url=f"http://127.0.0.1:{free_port()}", embedder=embedder)
