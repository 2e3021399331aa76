"""Bad command lines, output locations and databases: one ``error:`` line, exit 2, before the
model loads; an unexpected failure is one line pointing at a log with the traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genrank.cli import main

ROOT = Path(__file__).resolve().parent.parent
TASK = "scangen_simple"  # no data files needed


@pytest.fixture
def no_model(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the model was loaded for bad input")
    monkeypatch.setattr("harness.backends.load_backend", refuse)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


@pytest.mark.parametrize("flags, words", [
    (["--tag", "foo"], "'foo' is not KEY=VALUE"),
    (["--batch-size", "0"], "--batch-size: must be >= 1 (or 'auto'), got 0"),
    (["--journal-every", "0"], "--journal-every: must be at least 1, not 0"),
    (["--max-new-tokens", "-3"], "--max-new-tokens: must be at least 1, not -3"),
    (["--limit", "0"], "--limit: must be at least 1, not 0"),
    (["--limit", "-1"], "--limit: must be at least 1, not -1"),
    (["--limit", "lots"], "'lots' is not a whole number"),
])
def test_bad_flag_values(tmp_path, capsys, no_model, flags, words):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--task", TASK, "-o", str(tmp_path / "runs"), *flags])
    assert exc.value.code == 2
    assert words in _one_line(capsys)
    assert not (tmp_path / "runs").exists()


def test_output_is_a_file(tmp_path, capsys, no_model):
    target = tmp_path / "runs"
    target.write_text("my notes")
    assert main(["run", "--task", TASK, "--limit", "2", "-o", str(target)]) == 2
    err = _one_line(capsys)
    assert "exists and is not a folder" in err and f"file={target}" in err
    assert "field=--output" in err and target.read_text() == "my notes"


def test_output_not_writable(capsys, no_model):
    import tempfile

    target = Path("/sys/genrank-runs")  # sysfs refuses new files, even to root
    try:
        tempfile.TemporaryFile(dir="/sys").close()
        pytest.skip("/sys accepts new files here")
    except OSError:
        pass
    assert main(["run", "--task", TASK, "--limit", "2", "-o", str(target)]) == 2
    err = _one_line(capsys)
    assert "not writable" in err and "field=--output" in err and not target.exists()


def test_output_disk_full(tmp_path, capsys, no_model, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10 ** 9, 10 ** 9 - 4096, 4096))
    assert main(["run", "--task", TASK, "--limit", "2", "-o", str(tmp_path / "runs")]) == 2
    err = _one_line(capsys)
    assert "disk holding the output folder is full (4 KiB free)" in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", ["site", "ingest", "submit"])
def test_db_that_is_not_sqlite(tmp_path, capsys, no_model, command, monkeypatch):
    fake = tmp_path / "genrank.sqlite"
    fake.write_text("model,score\nalpha,0.5\n" * 50)
    before = fake.read_bytes()
    monkeypatch.setenv("GENRANK_DB", str(fake))
    argv = {"site": ["site", "-o", str(tmp_path / "site")],
            "ingest": ["ingest", str(tmp_path)],
            "submit": ["submit", "smollm2-135m", "--task", TASK, "--limit", "2",
                       "-o", str(tmp_path / "runs")]}[command]
    assert main(argv) == 2
    err = _one_line(capsys)
    assert "not a genrank leaderboard database" in err and f"file={fake}" in err
    assert "GENRANK_DB" in err and fake.read_bytes() == before
    assert not (tmp_path / "runs").exists()


def test_unexpected_exception_is_one_line_and_a_log(tmp_path):
    """A bug (here: a command that crashes) prints one line naming a log with the traceback."""
    code = ("import sys, genrank.commands.tasks as t\n"
            "def boom(args):\n    raise RuntimeError('kaboom\\nsecond line')\n"
            "t.run = boom\nfrom genrank.cli import main\nsys.exit(main(['tasks']))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "GENRANK_LOG_DIR": str(tmp_path)},
                         timeout=120)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unexpected RuntimeError: kaboom")
    assert "Traceback" not in res.stderr
    (log,) = tmp_path.glob("genrank-*.log")
    assert str(log) in lines[0]
    assert "Traceback" in log.read_text() and "kaboom" in log.read_text()
