"""``genrank tasks``: list declared tasks (parses tasks.yaml only; imports no suite)."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("tasks", help="list declared tasks with suite, dataset, split and tags")
    p.add_argument("--suite", action="append", help="only tasks of this suite")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                   help="only tasks whose tag KEY equals VALUE")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from harness.spec import load_specs, select

    tags = dict(t.split("=", 1) for t in args.tag)
    specs = select(load_specs(), suites=args.suite, tags=tags)
    rows = [{"task": s.name, "suite": s.suite, "dataset": s.tags.get("dataset", ""),
             "split": s.split, "split_strategy": s.tags.get("split_strategy", ""),
             "data": s.tags.get("data", ""), "difficulty": s.tags.get("difficulty_field") or "",
             "verifier": s.verifier.name, "declaration": s.declaration_hash} for s in specs]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in cols))
    return 0
