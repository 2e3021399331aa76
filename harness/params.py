"""Typed parameters: a component declares its parameters as a dataclass, and every value
a user wrote for it is checked against that declaration before any model work.

An unknown name (``ignore_space`` for ``ignore_spaces``) or a wrong type (``bins: many``)
is one GenrankError naming the field, not a TypeError after generation.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union

from harness.errors import GenrankError


def describe_type(tp: Any) -> str:
    """How an annotation reads in an error message."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(describe_type(a) for a in typing.get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(tp)))
    if origin in (list, tuple):
        return f"a list of {describe_type(typing.get_args(tp)[0])}"
    if origin is dict or tp is dict:
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def conforms(value: Any, tp: Any) -> bool:
    """Whether a parsed YAML/JSON value fits the annotation ``tp`` (bool is no number)."""
    if tp is Any:
        return True
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return any(conforms(value, a) for a in typing.get_args(tp))
    if origin is Literal:
        return value in typing.get_args(tp)
    if origin in (list, tuple):
        inner = typing.get_args(tp)[0]
        return isinstance(value, (list, tuple)) and all(conforms(v, inner) for v in value)
    if origin is dict or tp is dict:
        return isinstance(value, dict)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is type(None):
        return value is None
    return isinstance(value, tp)


def check(cls: type, values: Any, *, field: str) -> Any:
    """``cls(**values)`` once every name is declared and every value has its type;
    else one GenrankError whose field is ``<field>.<name>``."""
    if not isinstance(values, dict):
        raise GenrankError("expected a mapping", field=field)
    hints = typing.get_type_hints(cls)
    declared = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for name, value in values.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise GenrankError(f"unknown parameter {name!r} (known: {known})",
                               field=f"{field}.{name}")
        if not conforms(value, hints[name]):
            raise GenrankError(f"expected {describe_type(hints[name])}, got {value!r:.60}",
                               field=f"{field}.{name}")
    missing = [n for n, f in declared.items() if n not in values
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise GenrankError("required parameter missing", field=f"{field}.{missing[0]}")
    return cls(**values)


def check_call(fn: Any, values: dict[str, Any], *, field: str, skip: tuple[str, ...] = ()) -> None:
    """Check ``values`` against a function's named parameters (a metric's ``bins: int``):
    every name declared, every annotated value of its type, every required one given."""
    import inspect

    params = {n: p for n, p in inspect.signature(fn).parameters.items()
              if n not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    hints = typing.get_type_hints(fn)
    for name, value in values.items():
        if name not in params:
            known = ", ".join(sorted(params)) or "none"
            raise GenrankError(f"unknown parameter {name!r} (known: {known})",
                               field=f"{field}.{name}")
        if name in hints and not conforms(value, hints[name]):
            raise GenrankError(f"expected {describe_type(hints[name])}, got {value!r:.60}",
                               field=f"{field}.{name}")
    missing = [n for n, p in params.items() if p.default is p.empty and n not in values]
    if missing:
        raise GenrankError("required parameter missing", field=f"{field}.{missing[0]}")
