"""genrank's own SCAN generator against the real SCAN files."""

from __future__ import annotations

from harness.items import load_items
from harness.spec import load_specs
from suites.compositional import scan_grammar


def test_every_real_command_interprets_to_the_real_actions(data_file):
    lines = data_file("scan/tasks.txt").read_text().splitlines()
    pairs = [line[4:].split(" OUT: ") for line in lines]
    assert len(pairs) == 20910
    wrong = [c for c, out in pairs if scan_grammar.interpret(c) != out]
    assert wrong == []
    assert {c for c, _ in pairs} == set(scan_grammar.all_commands())


def test_generated_splits_match_scan_split_sizes(data_file):
    for split, rel in [("length", "scan/length_split/tasks_test_length.txt"),
                       ("addprim_jump", "scan/add_prim_split/tasks_test_addprim_jump.txt"),
                       ("addprim_turn_left", "scan/add_prim_split/tasks_test_addprim_turn_left.txt")]:
        real = {line[4:].split(" OUT: ")[0] for line in data_file(rel).read_text().splitlines()}
        _, test = scan_grammar.split_commands(split)
        assert set(test) == real, split


def test_generated_tasks_need_no_data(monkeypatch, tmp_path):
    monkeypatch.setenv("GENRANK_DATA", str(tmp_path))  # an empty data root
    spec = load_specs()["scangen_length"]
    items = load_items(spec)
    assert len(items) == 3920
    assert all(len(it.target.split()) > 22 for it in items)
    assert items == load_items(spec)  # seeded: the same items every time


def test_interpretation_rules():
    assert scan_grammar.interpret("jump around left twice") == " ".join(
        ["I_TURN_LEFT", "I_JUMP"] * 8)
    assert scan_grammar.interpret("walk after run left") == "I_TURN_LEFT I_RUN I_WALK"
    assert scan_grammar.interpret("turn opposite right") == "I_TURN_RIGHT I_TURN_RIGHT"
