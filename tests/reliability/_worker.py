"""Subprocess workers for the reliability tests (run as `python tests/reliability/_worker.py MODE ...`)."""

import sys
import time

from asem_core import ASEM
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
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
