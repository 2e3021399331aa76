"""The ``genrank`` command line.

Each subcommand lives in its own module exposing ``register(subparsers)``; the
module is listed in COMMANDS. Heavy imports (torch, pandas) happen inside the
command functions, so ``genrank tasks`` answers in well under a second.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from harness.errors import GenrankError

COMMANDS = [
    "genrank.commands.tasks",
    "genrank.commands.run",
    "genrank.commands.score",
    "genrank.commands.lm_eval",
    "genrank.commands.submit",
    "genrank.commands.site",
    "genrank.commands.leaderboard",
    "genrank.commands.validity",
    "genrank.commands.judge_check",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genrank", description=__doc__.splitlines()[0])
    from harness import __version__
    parser.add_argument("--version", action="version", version=f"genrank {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GenrankError as exc:
        print(exc.line(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished items are kept; run the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
