"""``genrank view``: what the model answered, item by item, as a table in the terminal."""

from __future__ import annotations

import shutil

EXAMPLE = "example: genrank view runs/smollm2-135m --task scan_simple --wrong --limit 5"
COLUMNS = ("item_id", "prompt", "prediction", "extracted", "target", "score", "why")


def register(sub) -> None:
    p = sub.add_parser("view", help="print a run's items: prompt tail, prediction, extracted "
                       "answer, target, score, why", description=__doc__, epilog=EXAMPLE)
    p.add_argument("run", metavar="RUN_DIR", help="a run directory (runs/<model>)")
    p.add_argument("--task", action="append", default=None,
                   help="task(s) to show; repeat or comma-separate (default: every task)")
    p.add_argument("--wrong", action="store_true", help="only items scored below 1")
    p.add_argument("--unparsable", action="store_true",
                   help="only items whose answer could not be extracted")
    p.add_argument("--limit", type=int, default=10, help="items per task (default 10; 0 = all)")
    p.add_argument("--width", type=int, default=None,
                   help="table width in characters (default: the terminal's)")
    p.set_defaults(func=run)


def run(args) -> int:
    from harness.errors import GenrankError
    from harness.runstore import RunDir
    from leaderboards.answers import task_answers

    rd = RunDir(args.run)
    if not rd.exists():
        raise GenrankError("not a run directory (no metadata.json)", file=str(args.run),
                           field="RUN_DIR")
    if args.limit < 0:
        raise GenrankError("must be >= 0 (0 = all)", field="--limit")
    tasks = [t for v in args.task or [] for t in v.split(",") if t] or rd.tasks()
    width = args.width or shutil.get_terminal_size((160, 24)).columns
    for task in tasks:
        ans = task_answers(rd, task, only_wrong=args.wrong, only_unextracted=args.unparsable,
                           limit=args.limit or None)
        print(f"{task}: {len(ans.rows)} of {ans.n_items} items shown ({ans.n_wrong} wrong, "
              f"{ans.n_unextracted} with no extracted answer)")
        print(table(ans.rows, width))
        print()
    return 0


def table(rows, width: int) -> str:
    """Fixed-width columns fitted to ``width``; long cells are cut with an ellipsis
    (the prompt keeps its tail, where the question is)."""
    if rows.empty:
        return "  (no items)"
    fixed = {"item_id": 22, "extracted": 16, "score": 5, "why": 18}
    flexible = max(30, width - sum(fixed.values()) - 3 * (len(COLUMNS) - 1))
    widths = {**fixed, "prompt": flexible * 2 // 5, "prediction": flexible * 3 // 10,
              "target": flexible - flexible * 2 // 5 - flexible * 3 // 10}
    lines = [" | ".join(c.ljust(widths[c]) for c in COLUMNS),
             "-+-".join("-" * widths[c] for c in COLUMNS)]
    for rec in rows.itertuples(index=False):
        cells = {c: _cell(getattr(rec, c), widths[c], tail=c == "prompt") for c in COLUMNS}
        cells["score"] = f"{rec.score:.2f}".rjust(widths["score"])
        lines.append(" | ".join(cells[c] for c in COLUMNS))
    return "\n".join(lines)


def _cell(value, width: int, tail: bool = False) -> str:
    text = " ".join(str(value).split())  # newlines and runs of spaces -> one space
    if len(text) > width:
        text = "…" + text[-(width - 1):] if tail else text[:width - 1] + "…"
    return text.ljust(width)
