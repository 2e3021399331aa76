"""Self-describing runs: an honest task version, a frozen run spec, backend numerics."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.errors import GenrankError
from harness.generic import ExactMatch
from harness.runner import RunOptions, plan, run_tasks
from harness.runstore import RunDir
from harness.spec import load_specs

TASKS = """\
# a comment
defaults:
  generation: {max_new_tokens: 8, stop: ["\\n"]}
tasks:
  - name: pairs
    suite: compositional
    description: pairs of lines
    loader: line_pairs
    source: {path: pairs/test.src, target: pairs/test.tgt, upstream: "https://example.org/a"}
    prompt: "IN: {{ input }}\\nOUT:"
    verifier: {name: exact_match, ignore_spaces: true}
    tags: {dataset: pairs, data: synthetic}
    notes: first note
"""


@pytest.fixture
def data(tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "pairs").mkdir(parents=True)
    (root / "pairs" / "test.src").write_text("jump\nwalk\nrun twice\n")
    (root / "pairs" / "test.tgt").write_text("JUMP\nWALK\nRUN RUN\n")
    monkeypatch.setenv("GENRANK_DATA", str(root))
    return root


def version(tmp_path: Path, text: str) -> str:
    """The task version of a fresh parse of ``text`` (a new file: no memo carries over)."""
    path = tmp_path / f"tasks{abs(hash(text))}.yaml"
    path.write_text(text)
    return load_specs(path)["pairs"].spec_hash


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("description: pairs of lines", "description: other words"),
    lambda t: t.replace("tags: {dataset: pairs, data: synthetic}",
                        "tags: {dataset: pairs, data: synthetic, colour: red}"),
    lambda t: t.replace("https://example.org/a", "https://example.org/moved"),
    lambda t: t.replace("notes: first note", "notes: second note"),
    lambda t: t.replace("# a comment", "# another comment\n# and more"),
], ids=["description", "tags", "upstream", "notes", "comment"])
def test_documentation_edits_keep_the_version(tmp_path, data, edit):
    assert version(tmp_path, edit(TASKS)) == version(tmp_path, TASKS)


@pytest.mark.parametrize("edit", [
    lambda t: t.replace('"IN: {{ input }}\\nOUT:"', '"IN: {{ input }}\\nOUTPUT:"'),
    lambda t: t.replace("ignore_spaces: true", "ignore_spaces: false"),
    lambda t: t.replace("max_new_tokens: 8", "max_new_tokens: 9"),
], ids=["prompt", "verifier-param", "generation"])
def test_evaluation_edits_change_the_version(tmp_path, data, edit):
    assert version(tmp_path, edit(TASKS)) != version(tmp_path, TASKS)


def test_verifier_version_bump_changes_the_version(tmp_path, data, monkeypatch):
    before = version(tmp_path, TASKS)
    monkeypatch.setattr(ExactMatch, "version", "2")
    assert version(tmp_path, TASKS + "\n") != before


def test_changed_data_file_changes_the_version(tmp_path, data):
    before = version(tmp_path, TASKS)
    (data / "pairs" / "test.tgt").write_text("JUMP\nWALK\nRUN  RUN RUN\n")
    assert version(tmp_path, TASKS + "\n") != before


class EchoBackend:
    """A stand-in engine: answers each prompt with its last input word, upper-cased."""

    kind = "hf"

    def __init__(self, dtype: str = "float32") -> None:
        self.dtype, self.calls = dtype, 0

    def identity(self):
        return {"name": "echo", "path": None, "content_hash": "e" * 16, "source": "test"}

    def settings(self):
        return {"dtype": self.dtype}

    def numerics(self):
        return {"dtype": self.dtype, "device_class": "cpu", "batch_size": 1}

    def generate(self, prompts, config):
        self.calls += len(prompts)
        return [p.split("IN: ")[-1].split("\n")[0].upper() for p in prompts]


def test_run_freezes_its_resolved_spec(tmp_path, data, isolated_cache):
    path = tmp_path / "tasks.yaml"
    path.write_text(TASKS)
    spec = load_specs(path)["pairs"]
    plans = plan([spec], RunOptions(limit=2, progress=False))
    run, _ = run_tasks(EchoBackend(), plans, tmp_path / "runs", RunOptions(progress=False))
    task = run.read_metadata()["tasks"]["pairs"]
    rs = task["runspec"]
    assert task["spec_hash"] == rs["version"] == spec.spec_hash
    assert rs["evaluation"]["prompt"] == spec.prompt
    assert rs["evaluation"]["source"] == {"path": "pairs/test.src", "target": "pairs/test.tgt"}
    assert rs["evaluation"]["verifier"] == {"name": "exact_match",
                                            "params": {"ignore_spaces": True}}
    assert rs["components"] == {"verifier": "1", "metrics": {"accuracy": "1"}}
    assert rs["items"]["n_dataset"] == 3 and rs["items"]["n_evaluated"] == 2
    assert rs["items"]["evaluated_digest"] != rs["items"]["dataset_digest"]
    assert rs["backend"]["dtype"] == "float32" and rs["backend"]["kind"] == "hf"
    assert rs["generation"]["max_new_tokens"] == 8
    assert {f["path"] for f in rs["data_files"]} == {str(data / "pairs/test.src"),
                                                     str(data / "pairs/test.tgt")}
    assert task["primary_metric"] == "accuracy" and task["lower_is_better"] is False


def test_other_numerics_never_reuse_outputs_nor_mix_in_one_run(tmp_path, data, isolated_cache):
    path = tmp_path / "tasks.yaml"
    path.write_text(TASKS)
    plans = plan([load_specs(path)["pairs"]], RunOptions(progress=False))
    opts = RunOptions(progress=False)
    _, first = run_tasks(EchoBackend("float32"), plans, tmp_path / "a", opts)
    _, same = run_tasks(EchoBackend("float32"), plans, tmp_path / "b", opts)
    assert (first.generated, same.cached) == (3, 3)  # same numerics: the cache answers
    bf16 = EchoBackend("bfloat16")
    _, other = run_tasks(bf16, plans, tmp_path / "c", opts)
    assert (other.generated, other.cached, bf16.calls) == (3, 0, 3)
    with pytest.raises(GenrankError, match="another backend.*dtype: 'float32' -> 'bfloat16'"):
        run_tasks(EchoBackend("bfloat16"), plans, tmp_path / "a", opts)
    history = RunDir(next((tmp_path / "c").iterdir())).read_metadata()["history"]
    assert history[-1]["backend"]["numerics"]["dtype"] == "bfloat16"


def test_hf_and_a_bf16_stand_in_share_no_cached_output(tiny_model_dir, tmp_path,
                                                       isolated_cache):
    """The issue's case: a backend identical to hf but for its dtype never gets hf's
    cached outputs (as a bf16 vLLM engine must not reuse fp32 transformers outputs)."""
    import torch

    torch.set_num_threads(1)
    from harness.backends import load_backend

    hf = load_backend(str(tiny_model_dir), batch_size=2, device="cpu")

    class OtherDtype:
        kind = hf.kind
        calls = 0

        def identity(self):
            return hf.identity()

        def settings(self):
            return hf.settings()

        def numerics(self):
            return {**hf.numerics(), "dtype": "bfloat16"}

        def generate(self, prompts, config):
            self.calls += len(prompts)
            return hf.generate(prompts, config)

    spec = dataclasses.replace(load_specs()["scangen_simple"])
    opts = RunOptions(limit=3, max_new_tokens=4, progress=False)
    plans = plan([spec], opts)
    _, a = run_tasks(hf, plans, tmp_path / "a", opts)
    stand_in = OtherDtype()
    _, b = run_tasks(stand_in, plans, tmp_path / "b", opts)
    assert a.generated == 3 and (b.generated, b.cached, stand_in.calls) == (3, 0, 3)
