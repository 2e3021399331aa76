"""CLI subcommands, one module each."""


def add_unsafe_code(parser) -> None:
    """``--unsafe-code`` on every command that may run generated code."""
    parser.add_argument("--unsafe-code", action="store_true",
                        help="run generated code even where no sandbox can hide the host file "
                             "system (the code then reads whatever you can; recorded in the "
                             "run metadata; default: refuse with an error)")


def apply_unsafe_code(args) -> None:
    if getattr(args, "unsafe_code", False):
        from harness.sandbox import allow_unsafe_code

        allow_unsafe_code()
