"""Nothing lost: scoped history, all-or-nothing import, feedback against concurrent writes, typed errors for bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from asem_core import ASEM, ASEMError, DataFormatError, InvalidInputError, StoreError


def _rows(mem: ASEM) -> dict[str, Any]:
    """Every row the store holds, per scope: notes, history and operation log (what "changes nothing" compares)."""
    out: dict[str, Any] = {}
    for scope in mem.store.scopes():
        notes = sorted((n.to_dict() for n in mem.store.iter_notes(scope)), key=lambda d: d["id"])
        history = {d["id"]: [(v.note.to_dict(), v.op.value, v.at) for v in mem.store.versions(scope, d["id"])] for d in notes}
        out[scope.key] = {"notes": notes, "history": history, "log": mem.store.ops(scope)}
    return out


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- 1. history is scoped
def test_an_import_cannot_write_into_another_scopes_history(mem, tmp_path):
    alice = mem.add("Alice keeps bees on her roof.", user_id="alice")[0].note_id
    mem.update(alice, "Alice keeps two hives of bees on her roof.", user_id="alice")
    before = _rows(mem)
    mem.add("Mallory likes chess.", user_id="mallory")
    dump = tmp_path / "mallory.jsonl"
    mem.export(dump, user_id="mallory")
    rows = _lines(dump)
    forged = next(r for r in rows if "note" in r)
    forged["note"]["id"] = alice  # reuse alice's note id in mallory's scope
    forged["note"]["content"] = "Alice's bees are dead."
    for v in forged["history"]:
        v["note"]["id"] = alice
    with pytest.raises(DataFormatError, match="belongs to another scope"):
        mem.import_(_write(tmp_path / "forged.jsonl", [r for r in rows if "note" in r]))
    assert [v.note.content for v in mem.history(alice, user_id="alice")] == [
        "Alice keeps bees on her roof.",
        "Alice keeps two hives of bees on her roof.",
    ]
    after = _rows(mem)
    assert all(after[k] == v for k, v in before.items())  # alice's rows untouched
    with pytest.raises(ASEMError):
        mem.history(alice, user_id="mallory")


def test_history_rows_are_keyed_by_scope(mem):
    nid = mem.add("Bob plays the oboe.", user_id="bob")[0].note_id
    rows = mem.store.history_rows([nid])
    assert [r.id for r in rows] == [f"{mem.get(nid, user_id='bob').scope.key}:{nid}@1"]


# ---------------------------------------------------------------------------- 2. import is all or nothing
def _export_two_users(mem: ASEM, tmp_path: Path) -> Path:
    mem.add_many(["Ann grows tomatoes.", "Ann's dog is called Pip."], user_id="ann")
    mem.add_many(["Ben rides a red bike.", "Ben studies Korean."], user_id="ben")
    pip = next(n for n in mem.all(user_id="ann") if "Pip" in n.content)
    mem.update(pip.id, "Ann's dog is called Pip; he is a terrier.", user_id="ann")
    mem.feedback(1.0, [pip.id], user_id="ann")
    dump = tmp_path / "two.jsonl"
    mem.export(dump)
    return dump


def test_import_checks_the_whole_file_first_and_reports_every_problem(mem, tmp_path, embedder):
    dump = _export_two_users(mem, tmp_path)
    rows = _lines(dump)
    notes = [r for r in rows if "note" in r]
    bad: list[dict[str, Any]] = json.loads(json.dumps(rows))
    ben = [r for r in bad if "note" in r and r["note"]["scope"] == {"user_id": "ben"}]
    ben[0]["note"]["valid"] = "yes"
    ben[1]["note"]["uses"] = -1
    bad.append(json.loads(json.dumps(notes[0])))  # the same id twice
    text = "".join(json.dumps(r) + "\n" for r in bad)
    text += json.dumps({"note": {**notes[1]["note"], "id": "x1", "content": "lone \ud800 surrogate"}, "history": notes[1]["history"]}) + "\n"
    target = ASEM.ephemeral(embedder=embedder)
    path = tmp_path / "bad.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError) as err:
        target.import_(path)
    message = str(err.value)
    assert "valid must be true or false" in message and "uses must be an integer >= 0" in message
    assert "already appears on line" in message and "lone surrogates" in message
    assert message.count("\nline ") == 4
    assert target.stats()["notes"] == 0 and target.store.scopes() == []  # the valid scope (ann) was not written either


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r["note"].update(version=0), "version must be an integer >= 1"),
        (lambda r: r["note"].update(timestamp="banana 12"), "timestamp"),
        (lambda r: r["note"].update(q=float("inf")), "q must be a finite number"),
        (lambda r: r["note"].update(content="x" * 200), "limit is 100"),
        (lambda r: r["note"].update(links=[{"target": "nowhere", "relation": "similar"}]), "links to note"),
        (lambda r: r.update(history=[]), "history must be a non-empty list"),
        (lambda r: r["note"].update(metadata={"a": {"b": 1}}, extra=1), "unknown field"),
        (lambda r: r["history"][0].update(op="DESTROY"), "op must be one of"),
    ],
)
def test_each_kind_of_bad_line_is_refused_with_its_line(mem, tmp_path, embedder, change, problem):
    dump = _export_two_users(mem, tmp_path)
    rows = _lines(dump)
    change(rows[-1] if "note" in rows[-1] else [r for r in rows if "note" in r][-1])
    target = ASEM.ephemeral(embedder=embedder, max_text_chars=100)
    with pytest.raises(DataFormatError, match=problem):
        target.import_(_write(tmp_path / "bad.jsonl", rows))
    assert target.stats()["notes"] == 0


def test_import_with_a_bom_keeps_the_log_and_a_second_import_changes_nothing(mem, tmp_path, embedder):
    dump = _export_two_users(mem, tmp_path)
    with_bom = tmp_path / "bom.jsonl"
    with_bom.write_bytes(b"\xef\xbb\xbf" + dump.read_bytes())
    target = ASEM.ephemeral(embedder=embedder)
    assert target.import_(with_bom) == 4
    assert _rows(target) == _rows(mem)  # notes, history and operation log all travelled
    assert [o["op"] for o in target.operations(user_id="ann")] == ["ADD", "ADD", "UPDATE", "FEEDBACK"]
    once = _rows(target)
    assert target.import_(with_bom) == 0
    assert target.import_(dump) == 0
    assert _rows(target) == once


def test_a_failed_write_during_import_is_rolled_back(mem, tmp_path, embedder, monkeypatch):
    dump = _export_two_users(mem, tmp_path)
    target = ASEM.ephemeral(embedder=embedder)
    target.add("Carl already lives here.", user_id="carl")
    before = _rows(target)
    real = target.store.commit
    calls = {"n": 0}

    def failing_commit(batch, record=None):
        calls["n"] += 1
        if calls["n"] == 2:  # the first scope is written, the second fails half-way
            target.store.write_rows(type(batch)(batch.scope, history=batch.history))
            raise StoreError("disk full")
        real(batch, record)

    monkeypatch.setattr(target.store, "commit", failing_commit)
    with pytest.raises(StoreError, match="removed again"):
        target.import_(dump)
    monkeypatch.undo()
    assert _rows(target) == before
    assert target.store.pending() == []


# ---------------------------------------------------------------------------- 4. feedback and a concurrent writer
def _two_clients(kind: str, tmp_path: Path, embedder, request) -> tuple[ASEM, ASEM]:
    if kind == "server":
        url = request.getfixturevalue("server")
        ns = f"fb{abs(hash(str(tmp_path))) % 10**8}"
        return ASEM(url=url, embedder=embedder, namespace=ns), ASEM(url=url, embedder=embedder, namespace=ns)
    return ASEM(path=tmp_path, embedder=embedder), ASEM(path=tmp_path, embedder=embedder)


@pytest.mark.parametrize("kind", ["local", "server"])
@pytest.mark.parametrize("other_write", ["delete", "update"])
def test_feedback_from_a_stale_read_cannot_undo_a_delete_or_an_update(kind, other_write, tmp_path, embedder, request, monkeypatch):
    a, b = _two_clients(kind, tmp_path, embedder, request)
    nid = a.add("Dana's locker code is 4411.", user_id="dana")[0].note_id
    a.search("locker code", user_id="dana")
    real_locate = a._locate

    def locate_then_other_client_writes(scope, ids):
        found = real_locate(scope, ids)  # a has read the note ...
        if other_write == "delete":  # ... and b changes it before a writes its feedback
            b.delete(nid, user_id="dana")
        else:
            b.update(nid, "Dana's locker code is 9020.", user_id="dana")
        monkeypatch.setattr(a, "_locate", real_locate)
        return found

    monkeypatch.setattr(a, "_locate", locate_then_other_client_writes)
    a.feedback(1.0, [nid], user_id="dana")
    for client in (a, b):
        note = client.get(nid, user_id="dana")
        assert note.version == 2
        assert note.q > client.config.q0  # the feedback itself is kept
        if other_write == "delete":
            assert not note.valid
            assert all(h.note.id != nid for h in client.search("locker code", user_id="dana"))
        else:
            assert note.valid and note.content == "Dana's locker code is 9020."
        assert [v.op.value for v in client.history(nid, user_id="dana")] == ["ADD", other_write.upper()]


# ---------------------------------------------------------------------------- 5-7. bad input is a typed error and writes nothing
def _bad_calls(mem: ASEM, nid: str) -> list[tuple[str, Any]]:
    deep: Any = "bottom"
    for _ in range(100_000):
        deep = {"d": deep}
    aware_max = datetime.max.replace(tzinfo=timezone(timedelta(hours=-5)))
    aware_min = datetime.min.replace(tzinfo=timezone(timedelta(hours=5)))
    u = {"user_id": "eve"}
    return [
        ("add_many str", lambda: mem.add_many("hello", **u)),
        ("add_many dict", lambda: mem.add_many({"text": "I like tea."}, **u)),
        ("add_many None", lambda: mem.add_many(None, **u)),
        ("add_many int", lambda: mem.add_many(5, **u)),
        ("early zone", lambda: mem.add("t", timestamp="0001-01-01T00:00:00+05:00", **u)),
        ("late zone", lambda: mem.add("t", timestamp="9999-12-31T23:59:59-05:00", **u)),
        ("aware max", lambda: mem.add("t", timestamp=aware_max, **u)),
        ("aware min", lambda: mem.add("t", timestamp=aware_min, **u)),
        ("in a batch", lambda: mem.add_many([{"text": "ok"}, {"text": "t", "timestamp": "9999-12-31T23:59:59-05:00"}], **u)),
        ("fuzzy", lambda: mem.add("t", timestamp="banana 12", **u)),
        ("unknown zone", lambda: mem.add("t", timestamp="12 May 2023 10:00 PST", **u)),
        ("deep add", lambda: mem.add("t", metadata=deep, **u)),
        ("deep update", lambda: mem.update(nid, "new text", metadata=deep, **u)),
        ("int key", lambda: mem.add("t", metadata={1: "one"}, **u)),
        ("colliding keys", lambda: mem.add("t", metadata={1: "a", "1": "b"}, **u)),
        ("surrogate metadata", lambda: mem.add("t", metadata={"k": "a\ud800"}, **u)),
        ("surrogate scope", lambda: mem.add("t", user_id="e\ud800ve")),
        ("note_ids int", lambda: mem.feedback(1.0, note_ids=5, **u)),
        ("note_ids dict", lambda: mem.feedback(1.0, note_ids=[{}], **u)),
        ("note_ids None", lambda: mem.feedback(1.0, note_ids=[None], **u)),
        ("huge k", lambda: mem.search("tea", k=10_001, **u)),
        ("nan metadata", lambda: mem.add("t", metadata={"x": float("nan")}, **u)),
        ("import None", lambda: mem.import_(None)),
        ("export to a number", lambda: mem.export(5, **u)),
    ]


def test_bad_input_is_an_invalid_input_error_naming_the_argument_and_writes_nothing(mem):
    nid = mem.add("Eve drinks green tea.", user_id="eve")[0].note_id
    before = _rows(mem)
    for name, call in _bad_calls(mem, nid):
        try:
            call()
        except InvalidInputError:
            continue
        except Exception as exc:  # noqa: BLE001 - the point is that nothing else escapes
            pytest.fail(f"{name}: {type(exc).__name__} escaped instead of InvalidInputError: {exc}")
        pytest.fail(f"{name}: accepted")
    assert _rows(mem) == before
    with pytest.raises(InvalidInputError, match=r"^k must be an integer from 1 to 10000"):
        mem.search("tea", k=10_001, user_id="eve")
    with pytest.raises(InvalidInputError, match="items must be a list"):
        mem.add_many("hello", user_id="eve")
    with pytest.raises(InvalidInputError, match="metadata keys must be strings"):
        mem.add("t", metadata={1: "one"}, user_id="eve")


def test_good_timestamps_still_parse():
    from asem_core._text import normalize_timestamp

    assert normalize_timestamp("1:56 pm on 8 May, 2023") == "2023-05-08T13:56:00"
    assert normalize_timestamp("2023-05-08T10:00:00+02:00") == "2023-05-08T08:00:00"
    assert normalize_timestamp(datetime(2020, 1, 1, tzinfo=UTC)) == "2020-01-01T00:00:00"
    assert normalize_timestamp(0) == "1970-01-01T00:00:00"
    for vague in ("May 8", "10:00 UTC", "2023", "soon"):
        with pytest.raises(InvalidInputError):
            normalize_timestamp(vague)


# ---------------------------------------------------------------------------- 3. the journal itself
def test_a_local_store_journals_to_files_and_ignores_a_record_cut_short(tmp_path, embedder):
    with ASEM(path=tmp_path, embedder=embedder) as mem:
        mem.add("Gus collects stamps.", user_id="gus")
        assert list((tmp_path / "journal").iterdir()) == []  # each record is dropped once its batch is written
        before = _rows(mem)
    (tmp_path / "journal" / ".asem_deadbeef.tmp").write_text('{"scope": {"user_id": "gus"}, "hist')  # killed while writing it
    with ASEM(path=tmp_path, embedder=embedder) as mem:
        assert list((tmp_path / "journal").iterdir()) == []
        assert _rows(mem) == before
    mem = ASEM.ephemeral(embedder=embedder)
    mem.add("In memory.", user_id="gus")
    assert mem.store.pending() == []


def test_concurrent_embeds_queue_and_give_the_same_vectors(embedder):
    import threading

    import numpy as np

    texts = [f"Sentence number {i} about gardens and tea." for i in range(16)]
    serial = embedder.embed(texts)
    out: dict[int, Any] = {}

    def run(i: int) -> None:
        out[i] = embedder.embed(texts[i : i + 2])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(0, 16, 2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert np.allclose(np.concatenate([out[i] for i in range(0, 16, 2)]), serial, atol=1e-5)
