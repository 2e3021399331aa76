"""Easy2Hard-Bench: difficulty-rated math, multiple-choice, chess and code tasks.

Importing the package registers the ``easy2hard`` loader and the ``choice_answer``,
``chess_puzzle`` and ``codeforces_tests`` verifiers; its math items use the shared
``math_answer`` (suites.common).
"""

from suites.easy2hard import answers, chessv, code, loaders  # noqa: F401  (registration)
