"""``genrank submit``: check a checkpoint, run the suites, add the run to the leaderboard.

Also ``genrank ingest`` for run directories that already exist (replayed outputs, or runs
made with ``genrank run``). Both verify every run by recomputing its metrics from the
per-item records before the database accepts it, then regenerate the CSVs and the site.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import time
import zipfile
from pathlib import Path

from genrank.commands import add_unsafe_code, apply_unsafe_code
from genrank.commands.options import positive_int, writable_dir
from harness.errors import GenrankError

SAFETENSORS_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
                     "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
LOAD_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def _outputs(p) -> None:
    p.add_argument("--db", help="leaderboard database (default: $GENRANK_DB or "
                                "leaderboard/genrank.sqlite)")
    p.add_argument("--csv-dir", help="where the leaderboard CSVs go (default: beside the db)")
    p.add_argument("--site", help="where the static site goes (default: <db folder>/site)")
    p.add_argument("--no-site", action="store_true", help="skip regenerating the site")


def register(sub) -> None:
    p = sub.add_parser("submit", help="validate a checkpoint, run suites, add it to the "
                                      "leaderboard database, regenerate CSVs and site")
    import argparse

    from genrank.commands.options import add_model_options

    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="checkpoint folder, alias (smollm2-135m) or hub id; vllm:PATH for the "
                        "vLLM engine, openai:URL#NAME for a server (as `genrank run --model`)")
    p.add_argument("--suite", action="append", help="suite to run (repeatable; default: all)")
    p.add_argument("--task", "--tasks", action="append",
                   help="task names or globs, comma-separated or repeated")
    p.add_argument("--backend", choices=["hf", "vllm", "openai"], default=None,
                   help=argparse.SUPPRESS)  # before the vllm:/openai: prefixes; kept working
    p.add_argument("--limit", type=positive_int, help="first N items of each task (default: all)")
    p.add_argument("--max-new-tokens", type=positive_int, help="override every task's limit")
    p.add_argument("--no-chat-template", action="store_true",
                   help="score without the chat template (required if the checkpoint has none)")
    add_model_options(p)
    p.add_argument("--judge", metavar="MODEL",
                   help="the judge model role for tasks that ask an LLM judge (any model "
                        "string)")
    p.add_argument("--skip-missing-data", action="store_true",
                   help="skip tasks whose data files are not under GENRANK_DATA")
    p.add_argument("-o", "--output", default="runs", help="run store folder (default: runs)")
    add_unsafe_code(p)
    _outputs(p)
    p.set_defaults(func=run)

    q = sub.add_parser("ingest", help="verify existing run directories and add them to the "
                                      "leaderboard database")
    q.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories or folders of runs")
    _outputs(q)
    q.add_argument("--no-regenerate", action="store_true",
                   help="only ingest; leave CSVs and site as they are")
    q.set_defaults(func=run_ingest)


# -- checkpoint validation ----------------------------------------------------------------

def _safetensors_params(path: Path) -> int:
    """Parameter count from a safetensors header; a truncated or damaged file raises."""
    params = 0
    for t in _safetensors_header(path).values():
        numel = 1
        for d in t["shape"]:
            numel *= d
        params += numel
    return params


def _safetensors_header(path: Path) -> dict[str, dict]:
    """Tensor name -> dtype, shape, offsets, checked against the file's size."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise GenrankError("weights file is truncated (no header)", file=str(path))
        (n,) = struct.unpack("<Q", head)
        if n > size - 8:
            raise GenrankError("weights file is truncated (header runs past the end)",
                               file=str(path))
        try:
            header = json.loads(fh.read(n))
        except ValueError:
            raise GenrankError("weights file header is not valid JSON", file=str(path)) from None
    if not isinstance(header, dict):
        raise GenrankError("weights file header is not a mapping", file=str(path))
    header.pop("__metadata__", None)
    end = 0
    for name, t in header.items():
        try:
            numel = 1
            for d in t["shape"]:
                numel *= int(d)
            lo, hi = (int(x) for x in t["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise GenrankError(f"tensor {name} has a malformed header entry",
                               file=str(path)) from None
        end = max(end, hi)
        if hi - lo != numel * SAFETENSORS_BYTES.get(t.get("dtype"), 0):
            raise GenrankError(f"tensor {name} has the wrong byte size", file=str(path))
    if 8 + n + end != size:
        raise GenrankError(f"weights file is truncated or padded ({size} bytes, header says "
                           f"{8 + n + end})", file=str(path))
    return header


def _tensor_shapes(files: list[Path]) -> dict[str, tuple[int, ...]] | None:
    """Every tensor the weight files hold, with its shape (None for GGUF: converted at load)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for f in files:
        if f.suffix == ".safetensors":
            shapes.update({k: tuple(t["shape"]) for k, t in _safetensors_header(f).items()})
        elif f.suffix in (".bin", ".pt", ".pth"):
            import torch

            try:
                state = torch.load(f, map_location="meta", weights_only=True, mmap=True)
            except Exception as exc:  # torch raises many types for a damaged pickle
                raise GenrankError(f"weights file not loadable: {str(exc).splitlines()[0][:160]}",
                                   file=str(f)) from None
            shapes.update({k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")})
        else:
            return None
    return shapes


def check_weights_cover(folder: Path, files: list[Path]) -> None:
    """The weights are exactly the architecture's: no tensor missing (transformers would
    initialise it randomly, silently), none unexpected, every shape equal.

    The architecture's tensors come from instantiating the model on the meta device (no
    memory); tied weights count once, under any of their names.
    """
    have = _tensor_shapes(files)
    if have is None:
        return
    import re

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(folder)
    try:
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
    except Exception as exc:  # an architecture transformers cannot build
        raise GenrankError(f"architecture not buildable: {str(exc).splitlines()[0][:160]}",
                           file=str(folder / "config.json")) from None
    groups: dict[int, list[str]] = {}  # one entry per distinct tensor: all its names
    shapes: dict[str, tuple[int, ...]] = {}
    persistent = set(model.state_dict())
    for name, t in [*model.named_parameters(remove_duplicate=False),
                    *model.named_buffers(remove_duplicate=False)]:
        if name in persistent:
            groups.setdefault(id(t), []).append(name)
            shapes[name] = tuple(t.shape)
    prefix = getattr(model, "base_model_prefix", "") + "."
    if prefix != "." and not any(k.startswith(prefix) for k in have):
        # a checkpoint of the bare base model: its keys lack the prefix
        rename = {n: n[len(prefix):] if n.startswith(prefix) else n for n in shapes}
        shapes = {rename[n]: v for n, v in shapes.items()}
        groups = {k: [rename[n] for n in names] for k, names in groups.items()}
    ignore_missing = [re.compile(p) for p in
                      getattr(model, "_keys_to_ignore_on_load_missing", None) or []]
    ignore_unexpected = [re.compile(p) for p in
                         getattr(model, "_keys_to_ignore_on_load_unexpected", None) or []]
    missing = sorted(names[0] for names in groups.values()
                     if not any(n in have for n in names)
                     and not any(p.search(names[0]) for p in ignore_missing))
    unexpected = sorted(k for k in have if k not in shapes
                        and not any(p.search(k) for p in ignore_unexpected))
    wrong = sorted(k for k in have if k in shapes and have[k] != shapes[k])
    where = str(folder)
    if missing:
        raise GenrankError(f"{len(missing)} weight(s) of the architecture are missing from the "
                           f"checkpoint (they would be initialised randomly), e.g. {missing[0]}",
                           file=where)
    if unexpected:
        raise GenrankError(f"{len(unexpected)} tensor(s) in the checkpoint are not part of the "
                           f"architecture, e.g. {unexpected[0]}", file=where)
    if wrong:
        raise GenrankError(f"{len(wrong)} tensor(s) have the wrong shape, e.g. {wrong[0]} is "
                           f"{list(have[wrong[0]])}, the architecture's "
                           f"{list(shapes[wrong[0]])}", file=where)


def _weights(folder: Path) -> tuple[list[Path], int | None]:
    """The weight files (all checked readable) and the parameter count when it is known."""
    index = folder / "model.safetensors.index.json"
    if index.exists():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, KeyError):
            raise GenrankError("unreadable safetensors index", file=str(index)) from None
        missing = [s for s in shards if not (folder / s).exists()]
        if missing:
            raise GenrankError(f"weight shard missing: {missing[0]}", file=str(index))
        files = [folder / s for s in shards]
    else:
        files = sorted(p for p in folder.iterdir()
                       if p.suffix in (".safetensors", ".bin", ".pt", ".pth", ".gguf"))
    if not files:
        raise GenrankError("checkpoint folder has no weight files", file=str(folder))
    params: int | None = 0
    for f in files:
        if f.suffix == ".safetensors":
            params = None if params is None else params + _safetensors_params(f)
            continue
        params = None
        with open(f, "rb") as fh:
            magic = fh.read(4)
        if f.suffix == ".gguf":
            if magic != b"GGUF":
                raise GenrankError("not a GGUF file", file=str(f))
        elif not zipfile.is_zipfile(f):
            raise GenrankError("weights file is not a readable torch archive", file=str(f))
        else:
            with zipfile.ZipFile(f) as z:
                bad = z.testzip()
            if bad:
                raise GenrankError(f"weights file is damaged ({bad})", file=str(f))
    return files, params


def available_memory(device: str) -> tuple[int, str]:
    """Bytes free where the model will live (GPU memory, else MemAvailable)."""
    if device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free), device
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024, "RAM"
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")), "RAM"


def backend_and_target(checkpoint: str, backend: str | None = None) -> tuple[str, str]:
    """``vllm:PATH`` / ``openai:URL#NAME`` / ``hf:...`` / plain: the same model strings as
    `genrank run --model`; the old ``--backend`` flag still works without a prefix."""
    from harness.backends import parse_model

    parsed = parse_model(checkpoint, backend)
    return parsed.kind, parsed.target


def validate_checkpoint(target: str, *, backend: str = "hf", chat_template: bool = True,
                        device: str | None = None, dtype: str = "auto") -> dict:
    """Everything checkable before the model loads; the first problem raises one line."""
    if backend == "openai":
        if "#" not in target:
            raise GenrankError("an openai backend checkpoint is URL#MODEL_NAME",
                               field="CHECKPOINT")
        return {"model": f"openai:{target}", "name": target.split("#", 1)[1],
                "content_hash": None, "checks": ["remote endpoint: weights not inspectable"]}
    from harness.backends.models import resolve_model

    ref = resolve_model(target)
    folder = Path(ref.path)
    config_path = folder / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise GenrankError(f"config.json unreadable: {exc}", file=str(config_path)) from None
    if not isinstance(config, dict) or "model_type" not in config:
        raise GenrankError("config.json has no model_type", file=str(config_path))
    from transformers import AutoConfig, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    try:
        AutoConfig.from_pretrained(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise GenrankError(f"config not loadable: {str(exc).splitlines()[0]}",
                           file=str(config_path)) from None
    try:
        tok = AutoTokenizer.from_pretrained(folder)
    except Exception as exc:  # tokenizers raise many types for damaged files
        raise GenrankError(f"tokenizer not loadable: {str(exc).splitlines()[0][:160]}",
                           file=str(folder)) from None
    has_template = bool(getattr(tok, "chat_template", None))
    if chat_template and not has_template:
        raise GenrankError("the checkpoint has no chat template; add one to "
                           "tokenizer_config.json or pass --no-chat-template", file=str(folder))
    files, params = _weights(folder)
    check_weights_cover(folder, files)
    weight_bytes = sum(f.stat().st_size for f in files)
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    load = dtype if dtype != "auto" else ("float32" if device == "cpu" else "bfloat16")
    need = int((params * LOAD_BYTES[load] if params else weight_bytes * 2) * 1.2)
    free, where = available_memory(device)
    gib = 1024 ** 3
    if need > free:
        raise GenrankError(f"the model needs about {need / gib:.1f} GiB as {load} but only "
                           f"{free / gib:.1f} GiB of {where} is free", file=str(folder),
                           field="--device")
    model = f"vllm:{folder}" if backend == "vllm" else target
    return {"model": model, "name": ref.name, "content_hash": ref.content_hash,
            "path": str(folder), "params": params, "weight_bytes": weight_bytes,
            "needs_gib": round(need / gib, 2), "free_gib": round(free / gib, 1), "where": where,
            "chat_template": has_template}


# -- commands -----------------------------------------------------------------------------

def _db_path(args) -> Path:
    from leaderboards.db import default_db_path

    return Path(args.db) if args.db else default_db_path()


def _site_dir(db_path: Path, site: str | None) -> Path:
    return Path(site) if site else db_path.parent / "site"


def regenerate(db_path: Path, csv_dir: str | None, site: str | None, no_site: bool) -> None:
    """Bring the CSVs and the site up to the database, one process at a time.

    Idempotent: outputs that already show the database's state (a stamp beside the CSVs,
    the site's marker) are left alone; anything older, missing or edited is rewritten. So
    a submit killed after its database commit is completed by running it again.
    """
    import fcntl

    from leaderboards import db
    from leaderboards.site import build

    csv_out = Path(csv_dir) if csv_dir else db_path.parent
    site_out = _site_dir(db_path, site)
    lock_path = db_path.with_name(db_path.name + ".regen.lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn = db.connect(db_path, create=False)
        try:
            conn.execute("BEGIN")  # one consistent snapshot for CSVs and site
            sig = db.signature(conn)
            if db.csvs_current(csv_out, sig):
                print(f"csv: up to date in {csv_out}")
            else:
                written = db.write_csvs(conn, csv_out)
                print(f"csv: {', '.join(str(p) for p in written)}")
            if no_site:
                pass
            elif build.is_current(site_out, sig):
                print(f"site: up to date in {site_out}")
            else:
                print(f"site: {build.build_site(conn, site_out)}")
            conn.execute("COMMIT")
        finally:
            conn.close()


def check_outputs(args, db_path: Path) -> None:
    """Every output location is usable, checked before any model work."""
    from leaderboards import db
    from leaderboards.site.build import check_target

    for path, field in ((getattr(args, "output", None), "--output"),
                        (db_path.parent, "--db"), (args.csv_dir, "--csv-dir")):
        if path is not None:
            writable_dir(path, field)
    db.check_usable(db_path)
    if not args.no_site:
        site = _site_dir(db_path, args.site)
        writable_dir(site.parent, "--site")
        check_target(site)


def incomplete(run) -> str | None:
    """Why a run directory holds nothing to ingest yet (a failed or unfinished run), or None.

    A run that claims finished tasks is verified by ingest instead (and rejected if wrong).
    """
    try:
        meta = run.read_metadata()
    except GenrankError as exc:
        return exc.message
    if not meta.get("tasks"):
        return "no finished task: only metadata.json" if not any(
            p.name != "metadata.json" and not p.name.startswith(".")
            for p in run.path.iterdir()) else "no finished task yet"
    return None


def _report(res) -> None:
    parts = [f"added {len(res.added)}"]
    if res.unchanged:
        parts.append(f"unchanged {len(res.unchanged)}")
    if res.duplicates:
        parts.append(f"already scored (not again) {len(res.duplicates)}: "
                     f"{', '.join(res.duplicates)}")
    print(f"ingested {res.run} as {res.label!r}: {'; '.join(parts)}")


def run(args) -> int:
    from harness.runner import RunOptions, load_run_judge, plan, run_tasks
    from harness.runs import check_name
    from harness.spec import load_specs, select
    from harness.terms import recheck
    from leaderboards import db

    from genrank.commands.options import generation_overrides, model_arguments, task_names

    apply_unsafe_code(args)
    t0 = time.perf_counter()
    db_path = _db_path(args)
    check_outputs(args, db_path)
    check_name(args.name)
    kind, target = backend_and_target(args.checkpoint, args.backend)
    model_args = model_arguments(args.model_args)
    specs = select(load_specs(), tasks=task_names(args.task), suites=args.suite)
    opts = RunOptions(limit=args.limit, chat_template=False if args.no_chat_template else None,
                      max_new_tokens=args.max_new_tokens, seed=args.seed,
                      progress=sys.stderr.isatty(), skip_missing_data=args.skip_missing_data,
                      num_fewshot=args.num_fewshot,
                      gen_kwargs=generation_overrides(args.gen_kwargs),
                      system_instruction=args.system_instruction,
                      judge=args.judge)
    plans = plan(specs, opts)  # every task input checked (and versioned) before the model loads
    if kind != "openai" and _all_scored(target, plans, db_path, args.seed):
        # hashed, found: no checkpoint loading, no torch; but a submit killed after its
        # commit left CSVs and site behind the database: bring them up to date
        regenerate(db_path, args.csv_dir, args.site, args.no_site)
        return 0
    check = validate_checkpoint(target, backend=kind,
                                chat_template=not args.no_chat_template, device=args.device,
                                dtype=model_args.get("dtype", args.dtype))
    name = args.name or check["name"]
    shown = {k: check[k] for k in ("content_hash", "params", "needs_gib", "free_gib",
                                   "chat_template") if k in check}
    print(f"checkpoint ok: {name}  " + "  ".join(f"{k}={v}" for k, v in shown.items()))
    if check["content_hash"]:
        done = db.already_scored(db_path, check["content_hash"], planned_versions(plans),
                                 seed=args.seed)
        if done:
            print(f"already on the leaderboard (as {sorted(set(done.values()))[0]!r}), "
                  f"not scored again: {', '.join(sorted(done))}")
        plans = [p for p in plans if p.spec.name not in done]
    if not plans:
        print("nothing new to score")
        if Path(db_path).exists():  # a submit killed after its commit left them behind
            regenerate(db_path, args.csv_dir, args.site, args.no_site)
        return 0

    from harness.backends import lazy_backend
    from harness.backends.threads import default_threads

    options = {"batch_size": args.batch_size, "device": args.device, "dtype": args.dtype,
               "threads": args.threads or default_threads(),
               **{k: v for k, v in model_args.items() if k != "pretrained"}}
    backend = lazy_backend(check["model"], **options)  # loads on the first cache miss
    judge = load_run_judge(plans, opts, options, backend)
    run_dir, stats = run_tasks(backend, plans, args.output, opts, name=name, judge=judge)
    print(f"run: {run_dir.path}  (generated {stats.generated}, cached {stats.cached}, "
          f"resumed {stats.resumed}, {stats.seconds:.1f}s)")
    _report(db.ingest(db_path, run_dir.path, recheck=recheck))
    regenerate(db_path, args.csv_dir, args.site, args.no_site)
    print_standing(db_path, name)
    print(f"submitted in {time.perf_counter() - t0:.1f}s")
    return 0


def planned_versions(plans) -> dict[str, str]:
    """Each planned task's leaderboard version key: the task version, and for a run on a
    subset of the items (``--limit``) or with other decoding settings, which ones (the key
    the finished run will have: a partial run never stands for the full task)."""
    from harness.runspec import evaluated_digest
    from leaderboards.leaderboard import version_key

    return {p.spec.name: version_key({
        "spec_hash": p.spec.spec_hash, "generation": p.config.as_dict(),
        "runspec": {"items": {"n_dataset": p.spec.n_dataset, "n_evaluated": len(p.items),
                              "evaluated_digest": evaluated_digest(
                                  (it.id, it.target) for it in p.items)},
                    "evaluation": {"generation": p.spec.generation.as_dict(),
                                   "output_type": p.spec.output_type}}}) for p in plans}


def _all_scored(checkpoint: str, plans, db_path: Path, seed: int | None) -> bool:
    """True (and says so) when the leaderboard has every selected task for these weights."""
    from harness.backends.models import resolve_model
    from leaderboards import db

    if not plans or not db_path.exists():
        return False
    ref = resolve_model(checkpoint)
    done = db.already_scored(db_path, ref.content_hash, planned_versions(plans), seed=seed)
    if len(done) < len(plans):
        return False
    print(f"already on the leaderboard (as {sorted(set(done.values()))[0]!r}), "
          f"not scored again: {', '.join(sorted(done))}\nnothing new to score")
    return True


def print_standing(db_path: Path, label: str) -> None:
    """The submitted model's scores and ranks on the leaderboard it joined."""
    from leaderboards import db
    from leaderboards.summary import format_rows, model_rows

    conn = db.connect(db_path, create=False)
    try:
        table = db.tables(conn).get("all")
    finally:
        conn.close()
    rows = model_rows(table, label) if table is not None else []
    if rows:
        print(f"{label} on the leaderboard:")
        print(format_rows(rows, with_rank=True))


def run_ingest(args) -> int:
    from harness.terms import recheck  # the suites' code, when importable, rechecks the terms
    from leaderboards import db
    from leaderboards.runs import find_runs

    db_path = _db_path(args)
    check_outputs(args, db_path)
    runs = find_runs(args.runs)
    conn = db.connect(db_path)
    skipped = []
    try:
        for r in runs:
            why = incomplete(r)
            if why:
                skipped.append(r.path)
                print(f"skipped {r.path}: incomplete run ({why})", file=sys.stderr)
                continue
            _report(db.ingest(conn, r.path, recheck=recheck))
    finally:
        conn.close()
    if skipped:
        print(f"skipped {len(skipped)} incomplete run(s); finish them (run the same "
              "command again) and ingest again", file=sys.stderr)
    if not args.no_regenerate:
        regenerate(db_path, args.csv_dir, args.site, args.no_site)
    return 0
