"""Build the proof leaderboard: database + CSVs + site from real published outputs.

Holds the 9 published PCFG SET runs, the 14 HALoGEN models and the ReaLMistake detectors
(replayed with ``genrank score``), plus the bundled model submitted with ``genrank submit``
(tiny --limit), then checks that every leaderboard CSV regenerates byte-identically from
the database (and equals ``genrank leaderboard`` over the same run directories).

    GENRANK_DATA=../shared/data python scripts/build_demo_site.py OUT_DIR [--limit 3]

Replayed run directories already under OUT_DIR/runs are reused; the database is rebuilt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GENRANK_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))

from harness.data import data_root  # noqa: E402
from harness.spec import load_specs  # noqa: E402

PCFG_ARCHS = ("convs2s", "lstms2s", "transformer")


def genrank(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "genrank.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"genrank {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    print(f"$ genrank {' '.join(args)}  ({time.perf_counter() - t0:.1f}s)\n"
          + "\n".join(proc.stdout.strip().splitlines()[-4:]), flush=True)
    return proc.stdout


def replay_commands(runs: Path) -> list[list[str]]:
    """Every `genrank score` call of the proof, as the issue names them."""
    from suites.halogen.data import LAYOUT

    specs = load_specs().values()
    root = data_root()
    cmds = [["score", "--task", "pcfgset_test", "--predictions",
             str(root / f"pcfgset/model_predictions/{arch}/pcfgset/run={n}.txt"),
             "--model-name", arch, "--seed", str(n), "-o", str(runs)]
            for arch in PCFG_ARCHS for n in (1, 2, 3)]
    cmds += [["score", "--task", s.name, "--predictions",
              str(root / "halogen/model_hallucinations" / LAYOUT[s.loader_params["domain"]][1]),
              "-o", str(runs)] for s in specs if s.suite == "halogen"]
    cmds += [["score", "--task", s.name, "--predictions",
              str(root / "realmistake/detector_predictions.csv.gz"), "-o", str(runs)]
             for s in specs if s.suite == "realmistake"]
    return cmds


def replayed(runs: Path, cmd: list[str]) -> bool:
    """Whether a score command's output is already there (reused between proof builds)."""
    task = cmd[cmd.index("--task") + 1]
    if "--model-name" in cmd:
        scores = runs / f"{cmd[cmd.index('--model-name') + 1]}__seed{cmd[cmd.index('--seed') + 1]}"
        return (scores / "records" / f"{task}.parquet").exists()
    return any((r / "records" / f"{task}.parquet").exists() for r in runs.glob("*")) \
        and (runs / f".done-{task}").exists()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--limit", type=int, default=3, help="items per task for the bundled model")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--tasks", default="scangen_simple,pcfgset_test")
    args = ap.parse_args()
    out = args.out.resolve()
    runs, dbp = out / "runs", out / "genrank.sqlite"
    for stale in (dbp, out / "genrank.sqlite-wal", out / "genrank.sqlite-shm", out / "site"):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)
    t0 = time.perf_counter()
    for cmd in replay_commands(runs):
        if not replayed(runs, cmd):
            genrank(*cmd)
            if "--model-name" not in cmd:
                (runs / f".done-{cmd[cmd.index('--task') + 1]}").touch()
    print(f"replays ready ({time.perf_counter() - t0:.0f}s)", flush=True)
    t1 = time.perf_counter()
    genrank("ingest", str(runs), "--db", str(dbp), "--no-regenerate")
    print(f"ingested replays ({time.perf_counter() - t1:.0f}s)", flush=True)
    tasks = [a for t in args.tasks.split(",") for a in ("--task", t)]
    genrank("submit", args.model, *tasks, "--limit", str(args.limit), "--max-new-tokens", "8",
            "--device", "cpu", "--db", str(dbp), "-o", str(runs), "--site", str(out / "site"))

    from leaderboards import db
    from leaderboards.leaderboard import write

    conn = db.connect(dbp, create=False)
    counts = db.counts(conn)
    t2 = time.perf_counter()
    from_db = {db.csv_name(s): db.csv_bytes(t) for s, t in db.tables(conn).items()}
    db_seconds = time.perf_counter() - t2
    t2 = time.perf_counter()
    fresh = db.tables_from_runs(db.run_paths(conn))  # genrank leaderboard's computation
    runs_seconds = time.perf_counter() - t2
    same = {name: from_db.get(name) == db.csv_bytes(t)
            for name, t in ((db.csv_name(s), t) for s, t in fresh.items())}
    on_disk = {name: (out / name).read_bytes() == data for name, data in from_db.items()}
    reference = write(fresh["all"], out / "reference_genrank_leaderboard.csv")
    same_as_cli = reference.read_bytes() == (out / "leaderboard.csv").read_bytes()
    report = {"counts": counts, "csv_regenerates_byte_identical_from_db": same,
              "csv_files_equal_db_export": on_disk,
              "leaderboard_csv_equals_genrank_leaderboard_over_runs": same_as_cli,
              "export_seconds_from_db": round(db_seconds, 2),
              "recompute_seconds_from_runs": round(runs_seconds, 1),
              "models": [r[0] for r in conn.execute("SELECT name FROM models ORDER BY name")],
              "seconds": round(time.perf_counter() - t0, 1)}
    (out / "proof.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    ok = all(same.values()) and all(on_disk.values()) and same_as_cli
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
