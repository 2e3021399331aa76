"""Chess-puzzle verifier (python-chess): the solver's moves of the whole line.

The item's ``fields.fen`` is the solver's position and ``target`` the solution line
in UCI (solver, opponent, solver, ...). Move tokens are read from the output in
order, UCI or SAN; at each solver turn the first token that is a legal move in the
current position is the answer. It must equal the solution move (or, as Lichess
accepts, be any checkmating move); then the solution's opponent reply is applied
(a token repeating it is skipped). ``first_move_only: true`` judges only the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.registry import Verifier, verifier
from harness.types import Item, Score

if TYPE_CHECKING:  # python-chess loads (0.1-0.2 s) only when a chess item is scored
    import chess

_TOKEN = re.compile(r"O-O-O|O-O|0-0-0|0-0|[a-h][1-8][a-h][1-8][qrbnQRBN]?|"
                    r"[KQRBN]?[a-h]?[1-8]?x?[a-h][1-8](?:=?[QRBNqrbn])?[+#]?")


def parse_move(board: chess.Board, token: str) -> chess.Move | None:
    """A legal move from a UCI or SAN token, else None."""
    import chess

    token = token.replace("0", "O") if token.startswith("0-0") else token
    for parse in (lambda t: chess.Move.from_uci(t.lower()), board.parse_san):
        try:
            move = parse(token)
        except (ValueError, AssertionError):
            continue
        if move in board.legal_moves:
            return move
    return None


def judge_line(fen: str, solution: list[str], text: str, first_only: bool = False):
    """(solver moves correct, solver moves in the line, moves read as UCI)."""
    import chess

    board = chess.Board(fen)
    tokens = _TOKEN.findall(text or "")
    pos, correct, read = 0, 0, []
    solver_turns = range(0, 1 if first_only else len(solution), 2)
    for k in solver_turns:
        move = None
        while pos < len(tokens) and move is None:
            move = parse_move(board, tokens[pos])
            pos += 1
        if move is None:
            break
        read.append(move.uci())
        want = chess.Move.from_uci(solution[k])
        board.push(move)
        mate = board.is_checkmate()
        board.pop()
        if move != want and not (mate and k == len(solution) - 1):
            break
        correct += 1
        board.push(want)
        if k + 1 < len(solution):
            reply = chess.Move.from_uci(solution[k + 1])
            if pos < len(tokens) and parse_move(board, tokens[pos]) == reply:
                pos += 1
            board.push(reply)
    return correct, len(solver_turns), read


@verifier
class ChessPuzzle(Verifier):
    name = "chess_puzzle"
    version = "1"

    @dataclass(frozen=True)
    class Params:
        first_move_only: bool = False

    def score(self, prediction: str, item: Item, evidence: dict | None = None) -> Score:
        first = bool(self.params.get("first_move_only", False))
        correct, total, read = judge_line(item.fields["fen"], item.target.split(), prediction,
                                          first)
        return Score(float(correct == total), extracted=" ".join(read) or None,
                     detail={"solver_moves_correct": correct, "solver_moves": total})
