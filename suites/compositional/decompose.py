"""How compositional datasets' items decompose into trees, for atoms and compounds.

``mcd`` reads each dataset's own structure (Keysers et al. 2020): SCAN's grammar
derivation of the command, COGS's logical form, CFQ's SPARQL query, PCFG SET's function
tree. ``tmcd`` (Shaw et al. 2021) reads the target side's tree: the same trees for COGS
and CFQ, whose targets are the meaning; SCAN's and PCFG SET's targets are flat strings,
so their program tree (the command's derivation, the function tree) stands in.
"""

from __future__ import annotations

import re

from suites.compositional.scan_grammar import PRIMITIVES, REPEAT, TURN


def scan_tree(command: str):
    """A SCAN command's derivation: conj(S, S) | repeat(V) | modifier(U, D) | dir(U, D) | U."""
    words = command.split()
    for conj in ("and", "after"):
        if conj in words:
            i = words.index(conj)
            return (conj, _scan_sentence(words[:i]), _scan_sentence(words[i + 1:]))
    return _scan_sentence(words)


def _scan_sentence(words: list[str]):
    if words and words[-1] in REPEAT:
        return (words[-1], _scan_verb(words[:-1]))
    return _scan_verb(words)


def _scan_verb(words: list[str]):
    if not words or (words[0] not in PRIMITIVES and words[0] != "turn"):
        raise ValueError(f"not a SCAN command: {' '.join(words)!r}")
    if len(words) == 1:
        return words[0]
    if len(words) == 2 and words[1] in TURN:
        return ("dir", words[0], words[1])
    if len(words) == 3 and words[1] in ("opposite", "around") and words[2] in TURN:
        return (words[1], words[0], words[2])
    raise ValueError(f"not a SCAN command: {' '.join(words)!r}")


_COGS_CLAUSE = re.compile(r"^(\*?)\s*([^\s(]+(?:\s\.\s[^\s(]+)*)\s*\((.*)\)$")


def _cogs_arg(arg: str) -> str:
    arg = arg.strip()
    if arg.startswith("x _"):
        return "x"
    return "NAME" if arg[:1].isupper() else ("var" if len(arg) == 1 else arg)


def cogs_tree(lf: str):
    """COGS logical form -> LF(clause...), clause = predicate(role args); names become NAME.

    ``* cat ( x _ 1 ) ; dog . agent ( x _ 2 , x _ 1 ) AND ...``: definite markers and
    predicates are the atoms; a predicate with its argument kinds, and the event's role
    clauses grouped under their event variable, are the compounds.
    """
    lf = lf.strip()
    if "(" not in lf:  # primitive items: a bare lambda or name
        return ("LF", lf.replace(" ", ""))
    parts = re.split(r"\s;\s|\sAND\s", lf.replace("LAMBDA", "lambda"))
    clauses = []
    events: dict[str, list] = {}
    for part in parts:
        part = part.strip()
        while part.startswith("lambda "):  # LAMBDA a . LAMBDA e . pred ( ... )
            part = part.split(" . ", 1)[1].strip()
        m = _COGS_CLAUSE.match(part)
        if not m:
            raise ValueError(f"not a COGS clause: {part!r}")
        star, pred, args = m.groups()
        pred = pred.replace(" ", "")
        arg_list = [a for a in args.split(",")]
        head, _, role = pred.partition(".")
        if role:  # event role: grouped under the event predicate
            events.setdefault(head, []).append((role, *map(_cogs_arg, arg_list[1:])))
        else:
            clauses.append((("def" if star else "indef"), (pred, *map(_cogs_arg, arg_list))))
    for head, roles in events.items():
        clauses.append((head, *roles))
    return ("LF", *clauses)


_CFQ_VAR = re.compile(r"^\?x\d+$")
_CFQ_ENT = re.compile(r"^M\d+$")


def _cfq_term(t: str) -> str:
    return "?x" if _CFQ_VAR.match(t) else ("M" if _CFQ_ENT.match(t) else t)


def cfq_tree(sparql: str):
    """A CFQ query -> query(kind, clause...), clause = predicate(subject kind, object kind).

    Variables and entity placeholders are collapsed to their kind; the predicates and
    types are the atoms; clauses and clause pairs sharing a variable are the compounds.
    """
    m = re.match(r"^SELECT\s+(.*?)\s+WHERE\s*\{(.*)\}\s*$", sparql.strip())
    if not m:
        raise ValueError("not a SPARQL SELECT ... WHERE { ... } query")
    head, body = m.groups()
    kind = "count" if "count" in head else "select"
    clauses = []
    by_var: dict[str, list] = {}
    for triple in (t.strip() for t in body.split(" . ") if t.strip()):
        toks = triple.split()
        if toks[0] == "FILTER":
            clause = ("FILTER", *[_cfq_term(t) for t in toks[2:-1] if t != "!="])
            vars_ = [t for t in toks if _CFQ_VAR.match(t)]
        elif len(toks) == 3:
            s, p, o = toks
            clause = (p, _cfq_term(s), _cfq_term(o) if p != "a" else o)
            vars_ = [t for t in (s, o) if _CFQ_VAR.match(t)]
        else:
            raise ValueError(f"not a triple: {triple!r}")
        clauses.append(clause)
        for v in vars_:
            by_var.setdefault(v, []).append(clause)
    groups = tuple(("var", *sorted(cs, key=str)) for _, cs in sorted(by_var.items())
                   if len(cs) > 1)
    return (kind, *sorted(clauses, key=str), *groups)


PCFG_UNARY = {"copy", "reverse", "shift", "echo", "swap_first_last", "repeat"}
PCFG_BINARY = {"append", "prepend", "remove_first", "remove_second"}


def pcfg_tree(source: str):
    """A PCFG SET input (prefix functions over letter sequences) -> its function tree.

    Letter sequences become ``SEQ`` nodes over their letters, so letters are atoms and a
    function applied to a function or a sequence is a compound.
    """
    toks = source.split()
    pos = 0

    def expr(stop_at_comma: bool):
        nonlocal pos
        if pos >= len(toks):
            raise ValueError("unexpected end of PCFG SET input")
        t = toks[pos]
        if t in PCFG_UNARY:
            pos += 1
            return (t, expr(stop_at_comma))
        if t in PCFG_BINARY:
            pos += 1
            left = expr(True)
            if pos >= len(toks) or toks[pos] != ",":
                raise ValueError(f"{t} needs two arguments")
            pos += 1
            return (t, left, expr(stop_at_comma))
        letters = []
        while pos < len(toks) and toks[pos] != "," and toks[pos] not in PCFG_UNARY | PCFG_BINARY:
            letters.append(toks[pos])
            pos += 1
        if not letters:
            raise ValueError(f"expected a letter sequence at token {pos}")
        return ("SEQ", *letters)

    tree = expr(False)
    if pos != len(toks):
        raise ValueError(f"unparsed tokens from position {pos}")
    return tree


# --- registration: pools for `genrank split`, parsers, and SCAN's oracle -----------------

def _register() -> None:
    from harness import registry
    from suites.compositional.scan_grammar import interpret

    registry.split_dataset("scan", template="scan_simple",
                           sources=[{"path": "scan/tasks.txt"}])
    registry.split_dataset("cogs", template="cogs_test", sources=[
        {"path": f"cogs/data/{part}.tsv"} for part in ("train", "dev", "test")])
    registry.split_dataset("pcfgset", template="pcfgset_test", sources=[
        {"path": f"pcfgset/data/pcfgset/pcfgset/{part}.src",
         "target": f"pcfgset/data/pcfgset/pcfgset/{part}.tgt"} for part in ("dev", "test")])
    registry.split_dataset("cfq", template="cfq_mcd1", sources=[
        {"path": "cfq/cfq_mcd1_lear.zip", "member": f"data/mcd1/{part}/{part}_encode.txt",
         "target_member": f"data/mcd1/{part}/{part}_decode.txt"}
        for part in ("train", "dev", "test")])
    for tag in ("scan", "scan-generated"):
        registry.split_parser(tag)(lambda item: scan_tree(str(item.fields["input"])))
        registry.oracle(tag)(interpret)
    registry.split_parser("cogs")(lambda item: cogs_tree(item.target))
    registry.split_parser("cfq")(lambda item: cfq_tree(item.target))
    registry.split_parser("pcfgset")(lambda item: pcfg_tree(str(item.fields["input"])))


_register()
