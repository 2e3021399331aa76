"""Kill ``genrank run``, ``ingest``, ``site`` and ``submit`` at random points, rerun, and
check the results are byte-identical to an uninterrupted run's.

Each family first runs once uninterrupted (its reference, and its duration T). Each trial
then starts from the same state in the same place, sends SIGKILL to the command's process
group after a uniformly drawn fraction of T, runs the same command again to completion and
compares every result file with the reference:

    run     records/*.parquet, journal/*.jsonl, scores.json byte for byte; metadata.json
            without its timestamps and history (how many items a run resumed is history)
    ingest  leaderboard CSVs and the whole site byte for byte; database rows without the
            columns that say when a row was written
    site    the whole site and the CSVs byte for byte (same database)
    submit  as run + ingest; model pages without the run-metadata block (it holds history)

    python benchmarks/kill_resume.py --trials 10 --limit 24       # about 10-15 minutes on 2 cores
    python benchmarks/kill_resume.py --while-writing --families run,submit   # skip import time
    python benchmarks/kill_resume.py --by-state      # kill at each kind of partial output

Prints a table: family, trials, kills that landed mid-command (and how many of those after
the command had begun writing), held (identical), failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASK = "scangen_simple"  # generated SCAN-grammar items: no data files needed
REPLAYS = [("lstms2s", 1), ("transformer", 1), ("convs2s", 1)]  # pcfgset_test predictions
VOLATILE = ("created", "updated", "history")
TIMESTAMPS = ("first_seen", "ingested")


def tiny_checkpoint(out: Path) -> Path:
    """A 2-layer random Llama with SmolLM2's tokenizer: generates in milliseconds."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from harness.backends.models import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model("smollm2-135m").path)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=2048, tie_word_embeddings=True,
                         eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


# -- comparing results ------------------------------------------------------------------------

def _files(root: Path, pattern: str) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob(pattern))
            if p.is_file()}


def _metadata(run: Path) -> dict:
    meta = json.loads((run / "metadata.json").read_text())
    return {k: v for k, v in meta.items() if k not in VOLATILE}


def compare_runs(a: Path, b: Path) -> list[str]:
    diffs = []
    for pattern in ("*/records/*.parquet", "*/journal/*.jsonl", "*/scores.json"):
        fa, fb = _files(a, pattern), _files(b, pattern)
        if fa != fb:
            bad = sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))
            diffs.append(f"{pattern}: {bad}")
    runs_a = sorted(p.parent for p in a.glob("*/metadata.json"))
    runs_b = sorted(p.parent for p in b.glob("*/metadata.json"))
    if [p.name for p in runs_a] != [p.name for p in runs_b]:
        diffs.append("run directories differ")
    elif any(_metadata(x) != _metadata(y) for x, y in zip(runs_a, runs_b)):
        diffs.append("metadata.json differs (timestamps and history aside)")
    return diffs


def db_rows(path: Path) -> dict[str, list]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    out = {}
    for table in ("models", "runs", "tasks", "scores", "cells"):
        rows = []
        for r in conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            d = {k: r[k] for k in r.keys() if k not in TIMESTAMPS}
            if table == "runs":
                d["metadata"] = {k: v for k, v in json.loads(d["metadata"]).items()
                                 if k not in VOLATILE}
            rows.append(d)
        out[table] = rows
    conn.close()
    return out


def compare_site(a: Path, b: Path, *, strip_metadata: bool = False) -> list[str]:
    fa, fb = _files(a, "**/*"), _files(b, "**/*")
    if strip_metadata:
        pre = re.compile(rb"<pre>.*?</pre>", re.S)
        fa = {k: pre.sub(b"", v) if k.startswith("models/") else v for k, v in fa.items()}
        fb = {k: pre.sub(b"", v) if k.startswith("models/") else v for k, v in fb.items()}
        fa.pop(".genrank-site", None), fb.pop(".genrank-site", None)  # hashes the metadata
    bad = sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))
    return [f"site differs: {bad[:3]}"] if bad else []


def compare_csvs(a: Path, b: Path) -> list[str]:
    fa, fb = _files(a, "*.csv"), _files(b, "*.csv")
    return [] if fa == fb and fa else [f"CSVs differ: {sorted(fa.keys() ^ fb.keys()) or 'content'}"]


# -- families -------------------------------------------------------------------------------

def _journal_lines(runs: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in runs.glob("*/journal/*.jsonl"))


def _db_scores(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(path)
        n = conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
        conn.close()
        return int(n)
    except sqlite3.Error:
        return 0


def _site_state(t: Path) -> list[str]:
    return ["site temp folder"] * any(t.glob(".site-*")) + ["site"] * (t / "site").exists()


class Family:
    name = ""

    def progress(self, t: Path) -> str:
        """What the killed command had written (empty: killed before its first write)."""
        return ""

    def __init__(self, work: Path, ckpt: Path, limit: int) -> None:
        self.work, self.ckpt, self.limit = work, ckpt, limit

    def prepare(self, t: Path) -> None:
        t.mkdir(parents=True)

    def argv(self, t: Path) -> list[str]:
        raise NotImplementedError

    def compare(self, t: Path, ref: Path) -> list[str]:
        raise NotImplementedError


class Run(Family):
    name = "run"

    def argv(self, t):
        return ["run", "--model", str(self.ckpt), "--task", TASK, "--limit", str(self.limit),
                "--max-new-tokens", "12", "--batch-size", "1", "--journal-every", "2",
                "--device", "cpu", "--no-progress", "-o", str(t / "runs")]

    def compare(self, t, ref):
        return compare_runs(t / "runs", ref / "runs")

    def progress(self, t):
        n = _journal_lines(t / "runs")
        return f"{n} items journaled" if n else ""


class Ingest(Family):
    name = "ingest"

    def argv(self, t):
        return ["ingest", str(self.work / "replayed"), "--db", str(t / "lb.sqlite"),
                "--site", str(t / "site")]

    def compare(self, t, ref):
        diffs = compare_csvs(t, ref) + compare_site(t / "site", ref / "site")
        if db_rows(t / "lb.sqlite") != db_rows(ref / "lb.sqlite"):
            diffs.append("database rows differ")
        return diffs

    def progress(self, t):
        db_path = t / "lb.sqlite"
        parts = [f"{_db_scores(db_path)} scores in db"] if db_path.exists() else []
        parts += ["csv"] * any(t.glob("*.csv")) + _site_state(t)
        return ", ".join(parts)


class Site(Family):
    name = "site"

    def prepare(self, t):
        t.mkdir(parents=True)
        src = sqlite3.connect(self.work / "ref-ingest" / "lb.sqlite")  # WAL content included
        dst = sqlite3.connect(t / "lb.sqlite")
        src.backup(dst)
        src.close(), dst.close()

    def argv(self, t):
        return ["site", "-o", str(t / "site"), "--db", str(t / "lb.sqlite"),
                "--csv-dir", str(t / "csv")]

    def compare(self, t, ref):
        return compare_site(t / "site", ref / "site") + compare_csvs(t / "csv", ref / "csv")

    def progress(self, t):
        return ", ".join(["csv"] * any((t / "csv").glob("*.csv")) + _site_state(t))


class Submit(Family):
    name = "submit"

    def argv(self, t):
        return ["submit", str(self.ckpt), "--name", "tiny", "--task", TASK, "--limit",
                str(self.limit), "--max-new-tokens", "12", "--batch-size", "1", "--device",
                "cpu", "--db", str(t / "lb.sqlite"), "-o", str(t / "runs"),
                "--site", str(t / "site")]

    def progress(self, t):
        n = _journal_lines(t / "runs")
        parts = [f"{n} items journaled"] if n else []
        if (t / "lb.sqlite").exists():
            parts.append(f"{_db_scores(t / 'lb.sqlite')} scores in db")
        parts += ["csv"] * any(t.glob("*.csv")) + _site_state(t)
        return ", ".join(parts)

    def compare(self, t, ref):
        diffs = compare_runs(t / "runs", ref / "runs") + compare_csvs(t, ref)
        diffs += compare_site(t / "site", ref / "site", strip_metadata=True)
        if db_rows(t / "lb.sqlite") != db_rows(ref / "lb.sqlite"):
            diffs.append("database rows differ")
        return diffs


# -- driver ---------------------------------------------------------------------------------

def env_for(t: Path) -> dict[str, str]:
    return {**os.environ, "GENRANK_CACHE": str(t / "cache"), "GENRANK_LOG_DIR": str(t / "logs"),
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
            "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def first_write(proc: subprocess.Popen, fam: "Family", t: Path,
                states: list[str] | None = None) -> float | None:
    """Seconds until the command's first output appears (polled), None if it never does;
    ``states`` collects every distinct output state seen on the way."""
    start, first = time.perf_counter(), None
    while proc.poll() is None:
        state = fam.progress(t)
        if state and first is None:
            first = time.perf_counter() - start
        if states is not None and state and state not in states:
            states.append(state)
        if first is not None and states is None:
            break
        time.sleep(0.05)
    return first


def kill_at_state(proc: subprocess.Popen, fam: "Family", t: Path, states: list[str],
                  target: int) -> bool:
    """SIGKILL the command as soon as its output reaches ``states[target]`` (or a later
    state); False if it finished first."""
    while proc.poll() is None:
        state = fam.progress(t)
        if state in states and states.index(state) >= target:
            os.killpg(proc.pid, signal.SIGKILL)
            return True
        time.sleep(0.02)
    return False


def genrank(argv: list[str], t: Path, *, kill_after: float | None = None,
            watch: "Family | None" = None, states: list[str] | None = None,
            at_state: int | None = None) -> tuple[int, str, float | None]:
    """Run genrank, killed after ``kill_after`` s or at output state ``at_state``; with
    ``watch``, also when it first wrote (and the states it passed through)."""
    proc = subprocess.Popen([sys.executable, "-m", "genrank.cli", *argv], cwd=ROOT,
                            env=env_for(t), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    if at_state is not None:
        killed = kill_at_state(proc, watch, t, states, at_state)
        _, err = proc.communicate()
        return (-9 if killed else proc.returncode), err, None
    if kill_after is None:
        wrote = first_write(proc, watch, t, states) if watch is not None else None
        _, err = proc.communicate()
        return proc.returncode, err, wrote
    try:
        _, err = proc.communicate(timeout=kill_after)
        return proc.returncode, err, None  # finished before the kill
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        return -9, err, None


def family_trials(fam: Family, trials: int, rng: random.Random, writing: bool = False,
                  by_state: bool = False) -> dict:
    """``writing``: kill points drawn from the part of the reference run after its first
    write (startup, mostly imports, is skipped), else from the whole run. ``by_state``: kill
    the moment the output reaches a randomly drawn one of the states the reference passed
    through (items journaled, scores in the database, CSVs, site temp folder, ...)."""
    t, ref = fam.work / "trial", fam.work / f"ref-{fam.name}"
    shutil.rmtree(t, ignore_errors=True)
    fam.prepare(t)
    start = time.perf_counter()
    states: list[str] = []
    rc, out, wrote = genrank(fam.argv(t), t, watch=fam, states=states)
    duration = time.perf_counter() - start
    lo = (wrote or 0.0) / duration if writing else 0.05
    if rc != 0:
        raise SystemExit(f"{fam.name}: the uninterrupted reference failed:\n{out}")
    t.rename(ref)
    res = {"family": fam.name, "tried": 0, "killed": 0, "after_write": 0, "held": 0,
           "failures": [], "seconds": round(duration, 1), "trials": [],
           "first_write_s": None if wrote is None else round(wrote, 1), "states": states}
    for i in range(trials):
        shutil.rmtree(t, ignore_errors=True)
        fam.prepare(t)
        if by_state and states:
            target = rng.randrange(len(states))
            at = float(target)
            rc, _, _ = genrank(fam.argv(t), t, watch=fam, states=states, at_state=target)
        else:
            at = rng.uniform(lo, 0.95) * duration
            rc, _, _ = genrank(fam.argv(t), t, kill_after=at)
        state = fam.progress(t) if rc == -9 else "finished before the kill"
        res["tried"] += 1
        res["killed"] += rc == -9
        res["after_write"] += rc == -9 and bool(state)
        rc, out, _ = genrank(fam.argv(t), t)
        diffs = [f"rerun exit {rc}: {out.strip().splitlines()[-1:]}"] if rc != 0 else \
            fam.compare(t, ref)
        if diffs:
            res["failures"].append({"trial": i, "kill_at_s": round(at, 2), "diffs": diffs})
            shutil.copytree(t, fam.work / f"failed-{fam.name}-{i}")
        else:
            res["held"] += 1
        res["trials"].append({"kill_at_s": round(at, 2), "state": state, "held": not diffs})
        when = f"state {int(at) + 1}/{len(states)}" if by_state and states else \
            f"{at:.2f}s of {duration:.1f}s"
        print(f"  {fam.name} trial {i}: kill at {when} "
              f"[{state or 'nothing written yet'}] -> {'held' if not diffs else diffs}",
              flush=True)
    shutil.rmtree(t, ignore_errors=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10, help="kills per family (default: 10)")
    ap.add_argument("--limit", type=int, default=24, help="items per run (default: 24)")
    ap.add_argument("--families", default="run,ingest,site,submit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--while-writing", action="store_true",
                    help="kill only after the command's first write (skips import time)")
    ap.add_argument("--by-state", action="store_true",
                    help="kill the moment the output reaches a random one of the states the "
                         "reference run passed through")
    ap.add_argument("--work", help="working folder (default: a temp folder, removed)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    os.environ.setdefault("GENRANK_DATA", str((ROOT.parent / "shared" / "data").resolve()))
    sys.path.insert(0, str(ROOT))
    work = Path(args.work or tempfile.mkdtemp(prefix="genrank-kill-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    ckpt = tiny_checkpoint(work / "tiny")
    setup = work / "setup"
    setup.mkdir(exist_ok=True)
    data = Path(os.environ["GENRANK_DATA"]) / "pcfgset" / "model_predictions"
    for arch, run in REPLAYS:  # real published outputs: the runs that ingest and site use
        rc, out, _ = genrank(["score", "--task", "pcfgset_test", "--predictions",
                           str(data / arch / "pcfgset" / f"run={run}.txt"), "--model-name", arch,
                           "--seed", str(run), "-o", str(work / "replayed")], setup)
        if rc != 0:
            raise SystemExit(f"setup failed: {out}")
    families = {"run": Run, "ingest": Ingest, "site": Site, "submit": Submit}
    wanted = args.families.split(",")
    if "site" in wanted and "ingest" not in wanted:
        wanted.insert(0, "ingest")  # site starts from ingest's reference database
    results = []
    for name in wanted:
        print(f"{name}:", flush=True)
        results.append(family_trials(families[name](work, ckpt, args.limit), args.trials, rng,
                                     args.while_writing, args.by_state))
    print("\n| family | tried | killed mid-command | of which after its first write | "
          "held (byte-identical) | failed | T (s) | first write (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['family']} | {r['tried']} | {r['killed']} | {r['after_write']} | "
              f"{r['held']} | {len(r['failures'])} | {r['seconds']} | {r['first_write_s']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if not args.work and not any(r["failures"] for r in results):
        shutil.rmtree(work, ignore_errors=True)
    elif any(r["failures"] for r in results):
        print(f"failed trials kept in {work}")


if __name__ == "__main__":
    main()
