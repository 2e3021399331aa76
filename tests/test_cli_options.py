"""lm-eval's options on `genrank run`, each against the bundled model (tiny limits)."""

from __future__ import annotations

import json

import pytest

from genrank.cli import main
from harness.runstore import RunDir

pytestmark = [pytest.mark.model, pytest.mark.slow]
TASK = "scangen_simple"  # generated SCAN-grammar items: no data files needed
BASE = ["run", "--model", "smollm2-135m", "--limit", "2", "--max-new-tokens", "4",
        "--no-progress", "--device", "cpu"]


@pytest.fixture(autouse=True)
def _threads(monkeypatch):
    import torch
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _run(tmp_path, *extra, name="m") -> RunDir:
    assert main([*BASE, "--task", TASK, "-o", str(tmp_path / "runs"), "--model-name", name,
                 *extra]) == 0
    return RunDir(tmp_path / "runs" / name)


def _task_meta(run: RunDir, task: str = TASK) -> dict:
    return run.read_metadata()["tasks"][task]


def test_num_fewshot_and_comma_separated_tasks(tmp_path, isolated_cache):
    default = _run(tmp_path, name="default")
    zero = _run(tmp_path, "--num-fewshot", "0", name="zero")
    assert _task_meta(default)["fewshot"]["k"] == 4 and _task_meta(zero)["fewshot"]["k"] == 0
    assert default.read_records(TASK)["prompt"].str.count("IN:").tolist() == [5, 5]
    assert zero.read_records(TASK)["prompt"].str.count("IN:").tolist() == [1, 1]
    assert _task_meta(zero)["spec_hash"] != _task_meta(default)["spec_hash"]  # a variant
    assert main([*BASE, "--task", "scangen_simple,scangen_length", "-o", str(tmp_path / "two"),
                 "--model-name", "two"]) == 0
    assert set(RunDir(tmp_path / "two" / "two").read_metadata()["tasks"]) == {
        "scangen_simple", "scangen_length"}


def test_gen_kwargs_and_system_instruction(tmp_path, isolated_cache, capsys):
    run = _run(tmp_path, "--gen-kwargs", "temperature=0.7,top_p=0.9,seed=3,max_gen_toks=3",
               "--system-instruction", "Answer with actions only.", "--apply-chat-template")
    gen = _task_meta(run)["generation"]
    assert (gen["temperature"], gen["top_p"], gen["seed"], gen["max_new_tokens"]) == \
        (0.7, 0.9, 3, 3)
    assert gen["system_instruction"] == "Answer with actions only." and gen["chat_template"]
    greedy = _run(tmp_path, "--gen-kwargs", "do_sample=false", name="greedy")
    assert _task_meta(greedy)["generation"]["temperature"] == 0.0
    for bad in ("temprature=1", "top_p=high", "max_gen_toks=-1", "nokey"):
        assert main([*BASE, "--task", TASK, "-o", str(tmp_path / "bad"),
                     "--gen-kwargs", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "--gen-kwargs" in err and "\n" not in err
    assert not (tmp_path / "bad").exists()


def test_model_args_and_batch_size_auto(tmp_path, isolated_cache, capsys):
    run = _run(tmp_path, "--model-args", "dtype=bfloat16,revision=main", "--batch-size", "auto")
    backend = run.read_metadata()["backend"]
    assert backend["dtype"] == "bfloat16" and backend["revision"] == "main"
    assert backend["batch_size_auto"] is True and backend["batch_size"] == 8  # CPU's auto
    assert main([*BASE, "--task", TASK, "-o", str(tmp_path / "bad"),
                 "--model-args", "dtyp=bfloat16"]) == 2
    assert "--model-args" in capsys.readouterr().err
    assert _exit_code([*BASE, "--task", TASK, "-o", str(tmp_path / "bad"), "--batch-size", "0"]) == 2


def _exit_code(args) -> int:
    try:
        return main(args)
    except SystemExit as exc:  # argparse's own type errors
        return int(exc.code)


def test_peft_adapter_is_its_own_model(tmp_path, isolated_cache):
    peft = pytest.importorskip("peft", reason="needs peft (pip install 'genrank[peft]')")
    from transformers import AutoModelForCausalLM

    from harness.backends.models import resolve_model

    base = AutoModelForCausalLM.from_pretrained(resolve_model("smollm2-135m").path)
    lora = peft.get_peft_model(base, peft.LoraConfig(r=2, target_modules=["q_proj", "v_proj"],
                                                     init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter")
    plain = _run(tmp_path, name="plain")
    adapted = _run(tmp_path, "--model-args", f"peft={tmp_path / 'adapter'}", name="adapted")
    a, b = plain.read_metadata()["model"], adapted.read_metadata()["model"]
    assert a["content_hash"] != b["content_hash"]  # never shares the base model's cache
    assert adapted.read_metadata()["backend"]["peft"] == str(tmp_path / "adapter")
    assert json.dumps(adapted.read_records(TASK)["prediction"].tolist())
