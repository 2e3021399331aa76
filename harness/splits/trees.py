"""Atoms and compounds of a tree, and a parser for bracketed targets.

A tree is ``(label, child, ...)`` with string leaves. Atoms are the labels of every
node; compounds are every node with its children (``around(jump,right)``) and with its
grandchildren (``twice(around(jump,right))``): the connected subtrees of depth 1 and 2,
a fixed-size reading of Keysers et al.'s rule combinations.
"""

from __future__ import annotations

from typing import Any, Iterator

Tree = Any  # str | tuple[str, *Tree]


def label(tree: Tree) -> str:
    return tree if isinstance(tree, str) else tree[0]


def _shape(tree: Tree, depth: int) -> str:
    if isinstance(tree, str) or depth == 0 or len(tree) == 1:
        return label(tree)
    return f"{tree[0]}({','.join(_shape(c, depth - 1) for c in tree[1:])})"


def nodes(tree: Tree) -> Iterator[Tree]:
    stack = [tree]
    while stack:
        t = stack.pop()
        yield t
        if not isinstance(t, str):
            stack.extend(reversed(t[1:]))


def atoms(tree: Tree) -> list[str]:
    return [label(t) for t in nodes(tree)]


def compounds(tree: Tree) -> list[str]:
    out = []
    for t in nodes(tree):
        if isinstance(t, str) or len(t) == 1:
            continue
        out.append(_shape(t, 1))
        if any(not isinstance(c, str) and len(c) > 1 for c in t[1:]):
            out.append(_shape(t, 2))
    return out


def parse_brackets(text: str, open_: str = "(", close: str = ")") -> Tree:
    """``f ( a , g ( b ) )`` or ``(f a (g b))`` -> a tree; ValueError if unbalanced or flat."""
    tokens = text.replace(open_, f" {open_} ").replace(close, f" {close} ").split()
    if open_ not in tokens:
        raise ValueError("no bracketed structure")
    root: list = ["ROOT"]
    stack = [root]
    for i, tok in enumerate(tokens):
        if tok == open_:
            node: list = []
            parent = stack[-1]
            # "f ( ... )": the token before the bracket names the node
            if parent[1:] and isinstance(parent[-1], str) and i and tokens[i - 1] != close:
                node.append(parent.pop())
            else:
                node.append("()")
            parent.append(node)
            stack.append(node)
        elif tok == close:
            if len(stack) == 1:
                raise ValueError("unbalanced brackets")
            stack.pop()
        elif tok != ",":
            stack[-1].append(tok)
    if len(stack) != 1:
        raise ValueError("unbalanced brackets")

    def freeze(n):
        return n if isinstance(n, str) else tuple([n[0], *(freeze(c) for c in n[1:])])
    return freeze(root)
