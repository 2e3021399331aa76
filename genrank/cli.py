"""The ``genrank`` command line.

Each subcommand lives in its own module exposing ``register(subparsers)``; the
module is listed in COMMANDS. Heavy imports (torch, pandas) happen inside the
command functions, so ``genrank tasks`` answers in well under a second.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

from genrank.commands.options import Parser
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
    "genrank.commands.label_errors",
    "genrank.commands.glicko2",
    "genrank.commands.view",
    "genrank.commands.report",
    "genrank.commands.judge_check",
    "genrank.commands.split",
    "genrank.commands.migrate",
]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option's default in --help (unless its text already says it); examples in the
    epilog keep their line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" not in text.lower() and action.option_strings
                and action.default not in (None, False, [], argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


def build_parser() -> Parser:
    parser = Parser(prog="genrank", description=__doc__.splitlines()[0],
                    formatter_class=HelpFormatter)
    from harness import __version__
    parser.add_argument("--version", action="version", version=f"genrank {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    for command, p in sub.choices.items():
        p.formatter_class = HelpFormatter
        if not p.epilog and command in EXAMPLES:
            p.epilog = "example:\n  " + EXAMPLES[command]
    return parser


#: one example per subcommand that does not write its own epilog
EXAMPLES = {
    "tasks": "genrank tasks --suite compositional",
    "leaderboard": "genrank leaderboard runs/ -o leaderboard.csv",
    "validity": "genrank validity runs/ -o report/\n  genrank validity "
                "$GENRANK_DATA/leaderboards/benchbench --reference all -o bb/",
    "label-errors": "genrank label-errors --probs mnist_test_set_pyx.npy "
                    "--labels mnist_test_set_original_labels.npy -o issues.csv",
    "glicko2": "genrank glicko2 responses.csv --periods 5 -o ratings.csv",
    "site": "genrank site -o site/",
    "submit": "genrank submit path/to/checkpoint --model-name my-model --suite compositional",
    "ingest": "genrank ingest runs/",
    "export-lm-eval": "genrank export-lm-eval lm_eval_tasks/ --task scan_simple",
    "import-lm-eval": "genrank import-lm-eval lm_eval_out/ -o runs/",
}


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
    except Exception as exc:  # a bug, not bad input: one line here, the traceback in a log
        print(f"error: unexpected {type(exc).__name__}: {_first_line(exc)}; the full "
              f"traceback is in {_write_log(argv)}", file=sys.stderr)
        return 1


def log_dir() -> Path:
    return Path(os.environ.get("GENRANK_LOG_DIR", Path.home() / ".cache" / "genrank" / "logs"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "(no message)"


def _write_log(argv: list[str] | None) -> Path:
    """Write the current exception's traceback to a log file (as pip does); its path."""
    body = (f"genrank {' '.join(sys.argv[1:] if argv is None else argv)}\n"
            f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n\n{traceback.format_exc()}")
    name = f"genrank-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (log_dir(), Path(os.environ.get("TMPDIR", "/tmp"))):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(body, encoding="utf-8")
            return folder / name
        except OSError:
            continue
    return Path("(unwritable log)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
