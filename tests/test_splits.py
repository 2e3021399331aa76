"""genrank split: SCAN's published splits reproduced, divergences as Keysers et al. define
them (checked against an independent port of the formula in google-research's
mcd_utils._compute_divergence), the MCD search, bad input, and the CPU baselines."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from genrank.cli import main
from harness.runs import run_name  # a model name's run directory

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _published(path: Path) -> Counter:
    pairs = Counter()
    for line in path.read_text().splitlines():
        if line.strip():
            cmd, out = line[4:].split(" OUT: ")
            pairs[(cmd.strip(), out.strip())] += 1
    return pairs


def _written(path: Path) -> Counter:
    return Counter((r["fields"]["input"], r["target"])
                   for r in map(json.loads, path.read_text().splitlines()))


def _split(tmp_path, name, *args) -> Path:
    out = tmp_path / name
    assert main(["split", "scan", "-o", str(out), *args]) == 0
    return out


def _reference_divergence(train: Counter, test: Counter, coef: float) -> float:
    """Port of google-research language/compgen/nqg/tasks/mcd_utils._compute_divergence."""
    sum_1, sum_2 = sum(train.values()), sum(test.values())
    numerator = sum(c1 ** coef * test[k] ** (1.0 - coef) for k, c1 in train.items() if k in test)
    return 1.0 - numerator / (sum_1 ** coef * sum_2 ** (1.0 - coef))


@pytest.mark.parametrize("args,train_file,test_file", [
    (["--strategy", "length", "--threshold", "22"],
     "length_split/tasks_train_length.txt", "length_split/tasks_test_length.txt"),
    (["--strategy", "primitive", "--primitive", "jump"],
     "add_prim_split/tasks_train_addprim_jump.txt", "add_prim_split/tasks_test_addprim_jump.txt"),
    (["--strategy", "primitive", "--primitive", "turn left"],
     "add_prim_split/tasks_train_addprim_turn_left.txt",
     "add_prim_split/tasks_test_addprim_turn_left.txt"),
    (["--strategy", "template", "--pattern", "around right", "--drop", "turn around right"],
     "template_split/tasks_train_template_around_right.txt",
     "template_split/tasks_test_template_around_right.txt"),
    (["--strategy", "template", "--pattern", "jump around right", "--drop", "turn around right"],
     "template_split/tasks_train_template_jump_around_right.txt",
     "template_split/tasks_test_template_jump_around_right.txt"),
])
def test_scan_strategies_reproduce_published_splits(tmp_path, data_file, args, train_file,
                                                    test_file):
    data_file("scan/tasks.txt")
    out = _split(tmp_path, "s", *args)
    assert _written(out / "train.jsonl") == _published(data_file(f"scan/{train_file}"))
    assert _written(out / "test.jsonl") == _published(data_file(f"scan/{test_file}"))


def _tree_units(path: Path):
    from suites.compositional.decompose import scan_tree
    from harness.splits import trees

    atoms, compounds = Counter(), Counter()
    for r in map(json.loads, path.read_text().splitlines()):
        t = scan_tree(r["fields"]["input"])
        atoms.update(trees.atoms(t))
        compounds.update(trees.compounds(t))
    return atoms, compounds


@pytest.mark.slow
def test_mcd_split_of_scan_is_compound_divergent_at_low_atom_divergence(tmp_path, data_file):
    data_file("scan/tasks.txt")
    for seed in ("0", "1"):
        out = _split(tmp_path, f"mcd{seed}", "--strategy", "mcd", "--seed", seed)
        report = json.loads((out / "split.json").read_text())
        train_a, train_c = _tree_units(out / "train.jsonl")
        test_a, test_c = _tree_units(out / "test.jsonl")
        atom_d = _reference_divergence(train_a, test_a, 0.5)
        comp_d = _reference_divergence(train_c, test_c, 0.1)
        assert report["atom_divergence"] == pytest.approx(atom_d, abs=1e-9)
        assert report["compound_divergence"] == pytest.approx(comp_d, abs=1e-9)
        assert comp_d >= 0.5 and atom_d < 0.05
        assert report["unseen_test_atoms"] == 0
    rnd = json.loads((_split(tmp_path, "rnd", "--strategy", "random") / "split.json").read_text())
    assert rnd["atom_divergence"] < 0.005 and rnd["compound_divergence"] < 0.05


@pytest.mark.slow
def test_measure_published_cfq_mcd1_against_a_random_split(tmp_path, data_file, capsys):
    data_file("cfq/cfq_mcd1_lear.zip")
    zip_ = "cfq/cfq_mcd1_lear.zip::data/mcd1"
    assert main(["split", "cfq", "--measure", f"{zip_}/train/train_encode.txt",
                 f"{zip_}/test/test_encode.txt", "--json"]) == 0
    mcd1 = json.loads(capsys.readouterr().out)
    assert (mcd1["n_train"], mcd1["n_test"]) == (95743, 11968)
    # a random split of the same pool, with MCD1's test share
    assert main(["split", "cfq", "--strategy", "random", "--test-size", str(11968 / 119679),
                 "-o", str(tmp_path / "r"), "--json"]) == 0
    rnd = json.loads(capsys.readouterr().out)
    assert mcd1["compound_divergence"] > 1.5 * rnd["compound_divergence"]
    assert mcd1["atom_divergence"] < 0.05


@pytest.mark.parametrize("args,field", [
    (["scan", "--strategy", "template", "--pattern", "fly around"], "--pattern"),
    (["scan", "--strategy", "difficulty"], "--rating-field"),
    (["scan", "--strategy", "length", "--threshold", "1000"], "--threshold"),
    (["scan", "--strategy", "primitive", "--primitive", "swim"], "--primitive"),
    (["e2h_lichess", "--strategy", "mcd"], "--strategy"),
])
def test_unusable_strategy_is_one_error_line_and_writes_nothing(tmp_path, data_file, capsys,
                                                                args, field):
    data_file("scan/tasks.txt")
    out = tmp_path / "out"
    assert main(["split", *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert f"field={field}" in err[0] and "strategy " in err[0] and "file=" in err[0]
    assert not out.exists() and not any(tmp_path.iterdir())


def _accuracy(run_dir: Path) -> dict[str, float]:
    scores = json.loads((run_dir / "scores.json").read_text())
    return {task: s["accuracy"] for task, s in scores.items()}


def test_baselines_on_scan_splits(tmp_path, data_file, isolated_cache, capsys):
    """The oracle is perfect everywhere; retrieval answers some random-split items (a
    rephrasing with the same actions) and none where the test outputs are new."""
    data_file("scan/tasks.txt")
    files = []
    for name, args in {"random": ["--strategy", "random"],
                       "length": ["--strategy", "length", "--threshold", "22"],
                       "primitive": ["--strategy", "primitive", "--primitive", "jump"]}.items():
        files += ["--tasks-file", str(_split(tmp_path, name, *args) / "tasks.yaml")]
    acc = {}
    for model in ("retrieval", "scan-oracle", "copy"):
        assert main(["run", "--model", f"baseline:{model}", *files, "-o", str(tmp_path / "runs"),
                     "--no-progress", "--limit", "1500"]) == 0
        acc[model] = _accuracy(tmp_path / "runs" / run_name(f"baseline:{model}"))
    assert set(acc["scan-oracle"].values()) == {1.0}
    assert acc["retrieval"]["scan_random_s0"] > 0
    assert acc["retrieval"]["scan_length_s0"] == acc["retrieval"]["scan_primitive_s0"] == 0
    assert set(acc["copy"].values()) == {0.0}


@pytest.mark.slow
def test_retrieval_does_well_on_random_cfq_and_collapses_on_mcd(tmp_path, data_file,
                                                                 isolated_cache):
    """On 40,000 CFQ items, a random test query often has a same-shaped training query;
    after an MCD split almost never (measured: 0.094 vs 0.005 on 800 test items)."""
    data_file("cfq/cfq_mcd1_lear.zip")
    files = []
    for strategy in ("random", "mcd"):
        assert main(["split", "cfq", "--strategy", strategy, "--size", "40000",
                     "-o", str(tmp_path / strategy)]) == 0
        files += ["--tasks-file", str(tmp_path / strategy / "tasks.yaml")]
    assert main(["run", "--model", "baseline:retrieval", *files, "-o", str(tmp_path / "runs"),
                 "--no-progress", "--limit", "800"]) == 0
    acc = _accuracy(tmp_path / "runs" / run_name("baseline:retrieval"))
    assert acc["cfq_random_s0"] > 0.05
    assert acc["cfq_mcd_s0"] < acc["cfq_random_s0"] / 5


def test_jsonl_pairs_split_runs_as_a_task(tmp_path, isolated_cache, capsys):
    """A JSONL of input/output pairs: split, then run through the generated tasks file; the
    copy baseline is right exactly on the items whose output is their input. Its flat
    targets have no tree, so tmcd says so."""
    rows = [{"input": f"w{i} w{i + 1}", "output": f"w{i} w{i + 1}" if i % 2 else f"x{i}"}
            for i in range(40)]
    src = tmp_path / "pairs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "split"
    assert main(["split", str(src), "--strategy", "random", "-o", str(out)]) == 0
    test = [json.loads(line) for line in (out / "test.jsonl").read_text().splitlines()]
    assert len(test) == 8
    assert main(["run", "--model", "baseline:copy", "--tasks-file", str(out / "tasks.yaml"),
                 "-o", str(tmp_path / "runs"), "--no-progress"]) == 0
    acc = _accuracy(tmp_path / "runs" / run_name("baseline:copy"))["pairs_random_s0"]
    assert acc == sum(r["fields"]["input"] == r["target"] for r in test) / len(test)
    capsys.readouterr()
    assert main(["split", str(src), "--strategy", "tmcd", "-o", str(tmp_path / "t")]) == 2
    assert "no bracketed structure" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()
