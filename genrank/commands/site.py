"""``genrank site``: the static leaderboard site (opens from disk) from the database."""

from __future__ import annotations

from genrank.commands.options import writable_dir


def register(sub) -> None:
    p = sub.add_parser("site", help="write the static leaderboard site from the database")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="site folder")
    p.add_argument("--db", help="leaderboard database (default: $GENRANK_DB or "
                                "leaderboard/genrank.sqlite)")
    p.add_argument("--csv-dir", help="also regenerate the leaderboard CSVs here")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from leaderboards import db
    from leaderboards.site import build_site
    from leaderboards.site.build import check_target

    writable_dir(Path(args.output).resolve().parent)
    check_target(args.output)
    if args.csv_dir:
        writable_dir(args.csv_dir, "--csv-dir")
    conn = db.connect(Path(args.db) if args.db else db.default_db_path(), create=False)
    try:
        conn.execute("BEGIN")
        if args.csv_dir:
            for path in db.write_csvs(conn, args.csv_dir):
                print(f"csv: {path}")
        print(f"site: {build_site(conn, args.output)}")
        conn.execute("COMMIT")
    finally:
        conn.close()
    return 0
