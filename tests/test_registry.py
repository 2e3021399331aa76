"""Registration through entry points: every suite loaded once, names unique across
suites, shared components in suites.common, and import order never changes a lookup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import registry

ROOT = Path(__file__).resolve().parent.parent
#: a compositional task that scores with the verifier Easy2Hard's math tasks use
SHARED = """\
tasks:
  - name: scan_counting
    suite: compositional
    loader: scan_generated
    source: {split: simple, seed: 0}
    prompt: "How many actions? {{ input }}"
    verifier: math_answer
"""
#: resolve every task's components and print where each comes from
RESOLVE = """
import json, sys
for first in sys.argv[1:]:
    __import__(first)
from harness import registry
from harness.spec import load_specs, validate
out = {}
for path in (None, SHARED_PATH):
    for spec in load_specs(path).values():
        validate(spec)
        v = registry.make_verifier(spec)
        out[spec.name] = [registry.LOADERS[spec.loader].__module__,
                          type(v).__module__ + "." + type(v).__qualname__,
                          [registry.METRICS[m.name].__module__ for m in spec.metrics]]
print(json.dumps(out, sort_keys=True))
"""


def resolve(shared: Path, first: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", RESOLVE.replace("SHARED_PATH", repr(str(shared))), *first],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_import_order_never_changes_a_lookup(tmp_path):
    shared = tmp_path / "shared.yaml"
    shared.write_text(SHARED)
    orders = [[], ["suites.compositional"], ["suites.halogen", "suites.easy2hard"],
              ["suites.realmistake", "suites.common", "suites.compositional"]]
    results = [resolve(shared, order) for order in orders]
    assert all(r == results[0] for r in results[1:])
    assert results[0]["scan_counting"][1] == "suites.common.math_answer.MathAnswer"
    assert results[0]["e2h_gsm8k"][1] == "suites.common.math_answer.MathAnswer"


def test_every_suite_comes_from_an_entry_point():
    assert set(registry.installed_suites()) >= {"common", "compositional", "easy2hard",
                                                "halogen", "realmistake"}
    registry.import_suite("compositional")
    assert {"math_answer", "halogen_offline", "realmistake_verdict"} <= set(registry.VERIFIERS)


def test_a_name_two_suites_define_stops_with_both_places():
    registry.import_suite("compositional")

    class Impostor(registry.Verifier):
        name = "math_answer"

    with pytest.raises(RuntimeError, match="registered twice: suites.common.math_answer"
                                           ".MathAnswer and .*Impostor"):
        registry.verifier(Impostor)
    assert registry.VERIFIERS["math_answer"].__module__ == "suites.common.math_answer"
