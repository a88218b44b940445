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


def _said(text, ts="2024-01-01T00:00:00", speaker="Ann"):
    return Note(id=text[:8], content=text, timestamp=ts, metadata={"speaker": speaker})


def test_heuristic_supersedes_an_older_value_of_the_same_slot():
    old = _said("I live in Berlin.")
    fact = Fact("I just moved from Berlin to Munich.", "2024-06-01T00:00:00", "Ann")
    decision = HeuristicManager().decide(fact, [Neighbour(old, 0.62)])
    assert decision.op is OpType.ADD and decision.supersedes == old.id and decision.target_id == old.id


def test_heuristic_does_not_supersede_across_people_speakers_or_time():
    old = _said("I live in Berlin.")
    manager = HeuristicManager()
    assert manager.decide(Fact("My brother just moved to Munich.", "2024-06-01T00:00:00", "Ann"), [Neighbour(old, 0.6)]).supersedes is None
    assert manager.decide(Fact("I just moved to Munich.", "2024-06-01T00:00:00", "Bob"), [Neighbour(old, 0.6)]).supersedes is None
    assert manager.decide(Fact("I just moved to Munich.", "2023-06-01T00:00:00", "Ann"), [Neighbour(old, 0.6)]).supersedes is None


def test_an_llm_manager_is_asked_about_changes_below_the_gate():
    from asem_core.manager import asks_llm

    old = _said("I live in Berlin.")
    config = ASEMConfig()
    change = Fact("I just moved from Berlin to Munich.", "2024-06-01T00:00:00", "Ann")
    assert asks_llm(change, [Neighbour(old, 0.62)], config)  # below the 0.70 gate, but it may replace the old value
    assert not asks_llm(Fact("My brother just moved to Munich.", "2024-06-01T00:00:00", "Ann"), [Neighbour(old, 0.6)], config)
    assert asks_llm(Fact("I like tea.", "2024-06-01T00:00:00", "Ann"), [Neighbour(old, config.llm_manager_gate)], config)
    assert not asks_llm(change, [], config)


def test_a_near_duplicate_with_a_new_value_is_not_dropped():
    old = _said("My number changed from 555-0128 to 555-0173.")
    fact = Fact("My number changed from 555-0173 to 555-0199.", "2024-06-01T00:00:00", "Ann")
    decision = HeuristicManager().decide(fact, [Neighbour(old, 0.98)])
    assert decision.op is not OpType.NOOP and decision.supersedes == old.id
