"""Subprocess workers for the reliability tests (run as `python tests/reliability/_worker.py MODE ...`)."""

import os
import sys
import time

from asem_core import ASEM
from asem_core._journal_store import FileJournal
from asem_core.locomo import load_locomo


def main() -> None:
    mode = sys.argv[1]
    if mode == "hold":  # open a local store and keep it open
        mem = ASEM(path=sys.argv[2])
        mem.add("held open", user_id="holder")
        print("ready", flush=True)
        time.sleep(float(sys.argv[3]))
    elif mode == "ingest":  # ingest a LoCoMo conversation in small batches (the crash test kills this)
        mem = ASEM(path=sys.argv[2])
        conv = load_locomo(sys.argv[3])[0]
        items = [t.as_item() for t in conv.turns]
        print("ready", flush=True)
        for i in range(0, len(items), 8):
            mem.add_many(items[i : i + 8], user_id=conv.sample_id)
            print(f"batch {i}", flush=True)
    elif mode == "server-writer":  # add facts through a Chroma server
        mem = ASEM(url=sys.argv[2])
        tag = sys.argv[3]
        for i in range(int(sys.argv[4])):
            words = (
                ["violin", "garden", "Lisbon", "ramen", "marathon", "pottery", "beagle", "museum"]
                if tag == "p1"
                else ["tax", "piano", "Porto", "sushi", "chess", "sailing", "parrot", "opera"]
            )
            mem.add(
                f"On day {i} the {words[i % 8]} plan needed {i * 3 + 1} {words[(i + 3) % 8]} items.", user_id="shared", metadata={"source_id": f"{tag}-{i}"}
            )
    elif mode == "crashpoint":  # ingest turns, dying just before write number KILL_AT (0: never)
        _crashpoint(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    else:
        raise SystemExit(f"unknown mode {mode}")


def crash_items(conv_file: str, n: int) -> list[dict]:
    """The first ``n`` turns of a LoCoMo conversation as add_many items (shared with the test)."""
    return [t.as_item() for t in load_locomo(conv_file)[0].turns[:n]]


def _crashpoint(target: str, conv_file: str, n: int, batch: int, kill_at: int) -> None:
    """Count every write (Chroma: collection creation, upsert, add, update, delete; journal files: record, forget) once the store is open.

    With ``kill_at`` > 0 the process exits (as kill -9 would: no cleanup) just before that write.
    Prints the number of writes of an uninterrupted run.
    """
    import chromadb.api.client as client_mod
    import chromadb.api.models.Collection as collection_mod

    counter = {"n": 0, "armed": False}

    def wrap(fn):
        def inner(*args, **kwargs):
            if counter["armed"]:
                counter["n"] += 1
                if counter["n"] == kill_at:
                    os._exit(137)
            return fn(*args, **kwargs)

        return inner

    for name in ("upsert", "add", "update", "delete"):
        setattr(collection_mod.Collection, name, wrap(getattr(collection_mod.Collection, name)))
    client_mod.Client.get_or_create_collection = wrap(client_mod.Client.get_or_create_collection)
    for name in ("record", "forget"):
        setattr(FileJournal, name, wrap(getattr(FileJournal, name)))
    mem = ASEM(url=target) if target.startswith("http") else ASEM(path=target)
    items = crash_items(conv_file, n)
    counter["armed"] = True
    for i in range(0, len(items), batch):
        mem.add_many(items[i : i + batch], user_id="crash")
    counter["armed"] = False
    print(f"writes {counter['n']}", flush=True)


if __name__ == "__main__":
    main()
