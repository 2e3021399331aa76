"""SCAN's published grammar and interpretation rules (Lake & Baroni 2018), executable.

genrank generates its own SCAN tasks from these rules (seeded), so the default
evaluation needs no data mirror; :func:`interpret` also checks the real files.
"""

from __future__ import annotations

import itertools
import random
from functools import lru_cache

PRIMITIVES = {"walk": "I_WALK", "look": "I_LOOK", "run": "I_RUN", "jump": "I_JUMP"}
TURN = {"left": "I_TURN_LEFT", "right": "I_TURN_RIGHT"}
REPEAT = {"twice": 2, "thrice": 3}


def _verb(words: list[str]) -> list[str]:
    """V -> U | D | U opposite dir | U around dir | turn opposite dir | turn around dir."""
    head, rest = words[0], words[1:]
    act = [] if head == "turn" else [PRIMITIVES[head]]
    if head not in PRIMITIVES and head != "turn":
        raise ValueError(f"unknown primitive {head!r}")
    if not rest:
        if head == "turn":
            raise ValueError("'turn' needs a direction")
        return act
    if len(rest) == 1:
        return [TURN[rest[0]]] + act
    if len(rest) == 2 and rest[0] == "opposite":
        return [TURN[rest[1]]] * 2 + act
    if len(rest) == 2 and rest[0] == "around":
        return ([TURN[rest[1]]] + act) * 4
    raise ValueError(f"cannot parse {' '.join(words)!r}")


def _sentence(words: list[str]) -> list[str]:
    """S -> V | V twice | V thrice."""
    if words and words[-1] in REPEAT:
        return _verb(words[:-1]) * REPEAT[words[-1]]
    return _verb(words)


def interpret(command: str) -> str:
    """The action sequence SCAN's interpretation rules assign to a command."""
    words = command.split()
    for conj in ("and", "after"):
        if conj in words:
            i = words.index(conj)
            left, right = _sentence(words[:i]), _sentence(words[i + 1:])
            return " ".join(left + right if conj == "and" else right + left)
    return " ".join(_sentence(words))


@lru_cache(maxsize=1)
def all_commands() -> tuple[str, ...]:
    """Every command the grammar generates (20,910), in a fixed order."""
    verbs = list(PRIMITIVES) + [f"{u} {d}" for u in PRIMITIVES for d in TURN]
    verbs += ["turn left", "turn right"]
    verbs += [f"{u} {m} {d}" for u in [*PRIMITIVES, "turn"] for m in ("opposite", "around")
              for d in TURN]
    sentences = [f"{v}{r}" for v in verbs for r in ("", " twice", " thrice")]
    compounds = [f"{a} {c} {b}" for a, b in itertools.product(sentences, repeat=2)
                 for c in ("and", "after")]
    return tuple(sentences + compounds)


def _in_test(command: str, split: str) -> bool:
    words = command.split()
    if split == "addprim_jump":
        return "jump" in words and command != "jump"
    if split == "addprim_turn_left":
        return "turn left" in command and command != "turn left"
    if split == "template_around_right":
        return "around right" in command
    if split == "length":
        return len(interpret(command).split()) > 22
    raise ValueError(f"unknown SCAN split {split!r}")


def split_commands(split: str, seed: int = 0, test_fraction: float = 0.2
                   ) -> tuple[list[str], list[str]]:
    """(train, test) commands for a SCAN-style split, generated from the grammar.

    ``simple`` is a seeded random split; ``length`` holds out outputs longer than 22
    actions (as SCAN's length split); the add-primitive splits keep the primitive
    alone in train and hold out its compositions; ``template_around_right`` holds out
    every command with "around right".
    """
    commands = list(all_commands())
    if split == "simple":
        rng = random.Random(seed)
        rng.shuffle(commands)
        cut = int(len(commands) * (1 - test_fraction))
        return commands[:cut], commands[cut:]
    train = [c for c in commands if not _in_test(c, split)]
    test = [c for c in commands if _in_test(c, split)]
    random.Random(seed).shuffle(test)
    return train, test
