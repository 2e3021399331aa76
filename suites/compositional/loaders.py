"""Loaders for the compositional-generalisation splits, reading upstream files as published."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Literal

from harness.data import open_text, read_zip_member, source_path
from harness.errors import GenrankError
from harness.registry import loader
from harness.types import Item
from suites.compositional import scan_grammar


@dataclass(frozen=True)
class PathSource:
    path: str


@dataclass(frozen=True)
class PairSource:
    """Parallel files: inputs in ``path``, targets in ``target``."""

    path: str
    target: str


@dataclass(frozen=True)
class GeneratedSource:
    split: str = "simple"
    seed: int = 0
    part: Literal["train", "test"] = "test"
    size: int | None = None


@dataclass(frozen=True)
class ZipSource:
    path: str
    member: str
    target_member: str


def _item(prefix: str, i: int, source: str, target: str, **meta) -> Item:
    return Item(id=f"{prefix}{i:05d}", fields={"input": source}, target=target,
                meta={"target_length": len(target.split()), **meta})


@loader("scan_lines", source=PathSource)
def scan_lines(spec, source: dict) -> list[Item]:
    """SCAN's ``IN: <command> OUT: <actions>`` lines."""
    path = source_path(spec, "path", source)
    items = []
    with open_text(path) as fh:
        for i, line in enumerate(fh):
            if not line.strip():
                continue
            if not line.startswith("IN: ") or " OUT: " not in line:
                raise GenrankError(f"line {i + 1} is not 'IN: ... OUT: ...'", file=str(path),
                                   task=spec.name, field="source.path")
            cmd, out = line[4:].split(" OUT: ", 1)
            items.append(_item("", i, cmd.strip(), out.strip()))
    return items


@loader("scan_generated", source=GeneratedSource)
def scan_generated(spec, source: dict) -> list[Item]:
    """Tasks genrank makes itself from SCAN's grammar (no data files needed)."""
    split, seed = source.get("split", "simple"), int(source.get("seed", 0))
    part = source.get("part", "test")
    try:
        train, test = scan_grammar.split_commands(split, seed=seed)
    except ValueError as exc:
        raise GenrankError(str(exc), file=spec.file, task=spec.name, field="source.split") from None
    commands = test if part == "test" else train
    n = source.get("size")
    commands = commands[: int(n)] if n else commands
    return [_item(f"{split}-", i, c, scan_grammar.interpret(c), generated=True)
            for i, c in enumerate(commands)]


@loader("cogs_tsv", source=PathSource)
def cogs_tsv(spec, source: dict) -> list[Item]:
    """COGS TSV rows: sentence, logical form, generalisation category."""
    path = source_path(spec, "path", source)
    items = []
    with open_text(path) as fh:
        for i, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)):
            if len(row) != 3:
                raise GenrankError(f"line {i + 1} has {len(row)} columns, expected 3",
                                   file=str(path), task=spec.name, field="source.path")
            items.append(_item("", i, row[0], row[1], category=row[2]))
    return items


def _paired_lines(spec, source: dict, src_key: str = "path", tgt_key: str = "target"):
    src_path, tgt_path = source_path(spec, src_key, source), source_path(spec, tgt_key, source)
    with open_text(src_path) as fs, open_text(tgt_path) as ft:
        src, tgt = fs.read().splitlines(), ft.read().splitlines()
    if len(src) != len(tgt):
        raise GenrankError(f"{len(src)} sources but {len(tgt)} targets", file=str(tgt_path),
                           task=spec.name, field=f"source.{tgt_key}")
    return src, tgt


@loader("line_pairs", source=PairSource)
def line_pairs(spec, source: dict) -> list[Item]:
    """Parallel ``.src``/``.tgt`` files (PCFG SET), one example per line."""
    src, tgt = _paired_lines(spec, source)
    return [_item("", i, s.strip(), t.strip()) for i, (s, t) in enumerate(zip(src, tgt))]


@loader("pcfg_localism", source=PathSource)
def pcfg_localism(spec, source: dict) -> list[Item]:
    """PCFG SET localism: the ``original`` rows of the unrolled file, with their unrolled steps."""
    path = source_path(spec, "path", source)
    items, steps = [], []
    with open_text(path) as fh:
        for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) != 3:
                continue
            if row[0] == "unrolled":
                steps.append([row[1].strip(), row[2].strip()])
            elif row[0] == "original":
                items.append(_item("", len(items), row[1].strip(), row[2].strip(),
                                   unrolled_steps=steps))
                steps = []
    return items


@loader("cfq_zip", source=ZipSource)
def cfq_zip(spec, source: dict) -> list[Item]:
    """CFQ (LEAR's MCD release): questions and SPARQL queries read from the zip in memory."""
    path = source_path(spec, "path", source)
    enc = read_zip_member(path, source["member"], task=spec.name).decode("utf-8").splitlines()
    dec = read_zip_member(path, source["target_member"], task=spec.name).decode("utf-8").splitlines()
    if len(enc) != len(dec):
        raise GenrankError(f"{len(enc)} questions but {len(dec)} queries", file=str(path),
                           task=spec.name, field="source.target_member")
    return [_item("", i, q.strip(), s.strip()) for i, (q, s) in enumerate(zip(enc, dec))]
