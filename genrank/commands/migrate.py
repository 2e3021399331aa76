"""``genrank migrate``: upgrade run directories written by genrank 0.1 to today's format."""

from __future__ import annotations

EXAMPLE = """examples:
  genrank migrate runs/                 # every run under runs/; verified first, originals kept
  genrank migrate runs/convs2s__seed1   # one run directory"""


def register(sub) -> None:
    import argparse

    p = sub.add_parser("migrate", help="upgrade genrank 0.1 run directories (verified first; "
                       "originals kept in <run>/.genrank-0.1/)", description=__doc__,
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories or folders of runs")
    p.set_defaults(func=run)


def run(args) -> int:
    from harness.errors import GenrankError
    from harness.migrate import migrate_run
    from harness.spec import load_specs
    from leaderboards.runs import find_runs

    specs, failed = load_specs(), 0
    for r in find_runs(args.runs):
        try:
            res = migrate_run(r.path, specs)
        except GenrankError as exc:  # this run stays as it was; the others go on
            print(exc.line())
            failed += 1
            continue
        state = f"upgraded {', '.join(res.upgraded)}" if res.upgraded else "already current"
        print(f"{r.path}: {state}")
    return 2 if failed else 0
