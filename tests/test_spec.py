"""tasks.yaml parsing: every declared task is well-formed, bad entries fail with one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from harness.errors import GenrankError
from harness.spec import load_specs, select, validate
from tests.test_spec_schema import GOOD  # one well-formed tasks file for both



def write(tmp_path, text):
    path = tmp_path / "tasks.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_every_declared_task_validates():
    specs = load_specs()
    assert len(specs) >= 19
    for spec in specs.values():
        validate(spec)
        assert {"dataset", "data"} <= set(spec.tags), spec.name


def test_compositional_tasks_carry_validity_tags():
    specs = select(load_specs(), suites=["compositional"])
    strategies = {s.tags["split_strategy"] for s in specs}
    assert {"random", "length", "primitive", "template", "mcd", "category"} <= strategies
    assert all(s.tags["data"] in ("synthetic", "natural") for s in specs)


def test_spec_hash_changes_with_the_prompt(tmp_path):
    a = load_specs(write(tmp_path, GOOD))["t1"]
    b = load_specs(write(tmp_path / ".." / tmp_path.name, GOOD.replace("OUT:", "OUT :")))
    assert a.spec_hash != b["t1"].spec_hash
    assert a.generation.max_new_tokens == 8  # defaults merged


@pytest.mark.parametrize("bad, field", [
    (GOOD.replace("    verifier: {name: exact_match, ignore_spaces: true}\n", ""), "verifier"),
    (GOOD.replace("loader: scan_generated", "loader: scan_generated\n    colour: red"), "colour"),
    (GOOD.replace("max_new_tokens: 8", "max_new_token: 8"), "generation.max_new_token"),
    (GOOD.replace("source: {split: simple, seed: 0}", "source: [1, 2]"), "source"),
])
def test_malformed_entry_names_file_task_and_field(tmp_path, bad, field):
    path = write(tmp_path, bad)
    with pytest.raises(GenrankError) as err:
        load_specs(path)
    assert err.value.field == field and err.value.task == "t1"
    assert str(path) in err.value.line() and "\n" not in err.value.line()


def test_unknown_verifier_is_reported_with_known_names(tmp_path):
    spec = load_specs(write(tmp_path, GOOD.replace("name: exact_match", "name: exact_mtch")))["t1"]
    with pytest.raises(GenrankError) as err:
        validate(spec)
    assert err.value.field == "verifier" and "exact_match" in err.value.message


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(GenrankError) as err:
        load_specs(write(tmp_path, "tasks:\n  - name: [unclosed\n"))
    assert "line" in err.value.message


def test_genrank_tasks_lists_every_task_quickly():
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "genrank.cli", "tasks"], capture_output=True,
                         text=True, check=True)
    elapsed = time.perf_counter() - start
    names = {line.split()[0] for line in out.stdout.splitlines()[1:]}
    assert set(load_specs()) == names
    assert elapsed < 5  # well under a second on an idle machine; generous for shared CI
