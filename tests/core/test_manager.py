from asem_core import ASEMConfig, Fact, HeuristicManager, Neighbour, Note, OpType


def _note(text, speaker="Sam", nid="n1"):
    return Note(id=nid, content=text, timestamp="2024-01-01T00:00:00", metadata={"speaker": speaker})


def test_heuristic_add_when_memory_is_empty():
    assert HeuristicManager().decide(Fact("I like tea", "2024-01-01T00:00:00", "Sam"), []).op is OpType.ADD


def test_heuristic_noop_on_near_duplicate():
    d = HeuristicManager().decide(Fact("I like tea", "t", "Sam"), [Neighbour(_note("I like tea"), 0.99)])
    assert d.op is OpType.NOOP and d.target_id == "n1"


def test_heuristic_update_keeps_both_facts():
    d = HeuristicManager().decide(Fact("I also adopted a cat named Tom.", "t", "Sam"), [Neighbour(_note("I adopted a dog named Buddy."), 0.93)])
    assert d.op is OpType.UPDATE and d.target_id == "n1"
    assert "Buddy" in d.content and "Tom" in d.content


def test_heuristic_update_with_a_superset_takes_the_new_text():
    d = HeuristicManager().decide(Fact("I adopted a dog named Buddy and a cat", "t", "Sam"), [Neighbour(_note("I adopted a dog named Buddy"), 0.93)])
    assert d.op is OpType.UPDATE and d.content == "I adopted a dog named Buddy and a cat"


def test_heuristic_delete_on_negation_by_the_same_speaker():
    d = HeuristicManager().decide(Fact("I no longer have a dog named Buddy.", "t", "Sam"), [Neighbour(_note("I have a dog named Buddy."), 0.92)])
    assert d.op is OpType.DELETE and d.target_id == "n1"


def test_heuristic_other_speaker_is_a_new_fact():
    d = HeuristicManager().decide(Fact("I have a dog named Rex.", "t", "Alex"), [Neighbour(_note("I have a dog named Buddy.", "Sam"), 0.92)])
    assert d.op is OpType.ADD


def test_thresholds_come_from_config():
    mgr = HeuristicManager(ASEMConfig(duplicate_threshold=0.999, update_threshold=0.995))
    assert mgr.decide(Fact("x", "t", "Sam"), [Neighbour(_note("x"), 0.99)]).op is OpType.ADD
