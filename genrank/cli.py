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
    "genrank.commands.label_errors",
    "genrank.commands.glicko2",
    "genrank.commands.view",
    "genrank.commands.report",
    "genrank.commands.judge_check",
    "genrank.commands.split",
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genrank", description=__doc__.splitlines()[0],
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
