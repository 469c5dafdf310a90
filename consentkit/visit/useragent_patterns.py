"""ua-parser's regexes rewritten for its native engine: cheap to match, and checkably exact.

The native engine (Rust's ``regex``) builds its automata lazily, state by state, as
headers come; a bounded repeat such as ``[^;]{0,200}`` or ``.{1,100}`` multiplies those
states (the automaton must count), so that a header costs several times what it would
otherwise, and most of all one never seen before. ``ua_parser_rs`` therefore loosens
repeats bounded at 100 or more to ``*`` / ``+``, which also makes them match more than
Python's ``re`` does (a crawler's "bot" past the 100th character).

:func:`native_pattern` loosens every repeat of one character (``.``, a class, an escape)
bounded at :data:`LOOSENED_FROM` or more and not inside a repeated group, and wraps it in
a group of its own (or uses the group that is nothing but the repeat), whose length is
checked after a match. If every such length is within its bound, the loosened regex's
first match is a match of the original; and since the original's matches are a subset of
the loosened one's, tried in the same order of preference, it is the original's first
match, with the same groups. Otherwise (rare) the caller must ask Python. A leading
``^.{0,N}?`` is taken off instead, the start of the match checked (a group runs from it to
the end of the header). A long repeat that cannot be checked (inside a repeated group, or
of a group) is kept bounded, written ``{00,100}`` so that ``ua_parser_rs`` leaves it be.
Groups whose text nobody reads are made non-capturing: each one costs the engine time.

:func:`printable_ascii` then narrows every class to printable ASCII, all the engine is
ever given: the same matches there, with far smaller automata than Unicode classes make.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

__all__ = [
    "LOOSENED_FROM",
    "Check",
    "NativePattern",
    "native_pattern",
    "printable_ascii",
]

#: Bounded repeats with a maximum of at least this many are loosened and checked. Measured
#: on uap-core's corpora: 10, 20 and 50 alike, 100 (ua_parser_rs's own) slower at first
#: sight; shorter repeats cost few states, and every checked group costs the engine.
LOOSENED_FROM = 50
# What ua_parser_rs loosens by itself: {0,N} and {1,N} with N of three digits or more.
_ENGINE_LOOSENS = re.compile(r"\{[01],\d{3,}\}")
_QUANTIFIER = re.compile(r"\*|\+|\?|\{(\d*)(,?)(\d*)\}")
_UNBOUNDED = 1 << 30
_GROUP_FLAGS = re.compile(r"\?[aiLmsux]*(?:-[imsx]+)?[:)]")
_ESCAPE_LENGTHS = {"x": 3, "u": 5, "U": 9}  # \xhh, \uhhhh, \Uhhhhhhhh
_PRINTABLE = "[ -~]"  # printable ASCII, the only characters the native engine is given


@dataclass(frozen=True, slots=True)
class Check:
    """A loosened repeat, and how to tell from its group that the original matches too.

    ``from_start`` false: the group's text has at most ``bound`` characters. True: the
    group runs from the match's start to the end of the header, which must leave at most
    ``bound`` characters before it (``^.{0,200}?`` taken off the front of a pattern).
    """

    group: int
    bound: int
    from_start: bool = False


@dataclass(frozen=True, slots=True)
class NativePattern:
    """A ua-parser regex as the native engine gets it.

    ``group_numbers[k - 1]`` is the number of the original regex's group ``k`` in
    ``pattern`` (0 when it is no longer a group); ``checks`` tell whether the native
    match is the original's; ``exact`` is false when the engine would still loosen
    something unchecked.
    """

    pattern: str
    group_numbers: tuple[int, ...]
    checks: tuple[Check, ...]
    exact: bool


@dataclass(slots=True)
class _Group:
    start: int  # where "(" is
    capturing: bool
    body: int = 0  # where its body starts (past "(", "(?:", ...)
    end: int = 0  # where its ")" is
    repeated: bool = False  # followed by a quantifier allowing more than one pass


@dataclass(frozen=True, slots=True)
class _Repeat:
    atom_start: int
    quantifier_start: int
    end: int  # past the quantifier and its "?" (lazy), if any
    minimum: int
    maximum: int
    lazy: bool
    single: bool  # the atom is one character: ".", a class, an escape, a literal
    enclosing: tuple[_Group, ...]


def native_pattern(pattern: str, *, keep: Collection[int] | None = None) -> NativePattern:
    """Rewrite ``pattern`` (Python ``re`` syntax, as in ua-parser) for the native engine.

    ``keep``: the numbers of the groups whose text is used (all when None); the others
    become non-capturing, since every group costs the native engine time. With none kept,
    only whether the pattern matches counts, and a leading ``^.{0,N}`` is taken off even
    when greedy.
    """
    repeats, groups, top_branched = _scan(pattern)
    capturing = [group for group in groups if group.capturing]
    kept = {
        group.start for number, group in enumerate(capturing, start=1)
        if keep is None or number in keep
    }  # fmt: skip
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in order
    checks: list[tuple[int, Check]] = []  # (where its group opens, the check, group 0)
    for repeat in repeats:
        if not LOOSENED_FROM <= repeat.maximum < _UNBOUNDED or repeat.minimum == repeat.maximum:
            continue
        atom = pattern[repeat.atom_start : repeat.quantifier_start]
        lazy = "?" if repeat.lazy else ""
        loose = {0: "*", 1: "+"}.get(repeat.minimum, f"{{{repeat.minimum},}}") + lazy
        whole = next(
            (g for g in capturing if g.body == repeat.atom_start and g.end == repeat.end), None
        )  # a group of just this repeat: its own text tells the length
        if _leading_dots(pattern, repeat, top_branched) and (repeat.lazy or not kept):
            # "^.{0,N}?REST" is REST searched for, starting within N characters: the
            # first such match is REST's first match; its start comes out of a group
            # running from there to the end of the header.
            edits.append((0, repeat.end, "((?:"))
            checks.append((-1, Check(0, repeat.maximum, from_start=True)))
        elif repeat.single and not any(group.repeated for group in repeat.enclosing):
            if whole is not None:
                edits.append((repeat.quantifier_start, repeat.end, loose))
                checks.append((whole.start, Check(0, repeat.maximum)))
                kept.add(whole.start)
            else:
                edits.append((repeat.atom_start, repeat.end, f"({atom}{loose})"))
                checks.append((repeat.atom_start, Check(0, repeat.maximum)))
        elif repeat.minimum <= 1 and repeat.maximum >= 100:
            bounded = f"{{0{repeat.minimum},{repeat.maximum}}}{lazy}"
            edits.append((repeat.quantifier_start, repeat.end, bounded))
    edits += [(group.start, group.body, "(?:") for group in capturing if group.start not in kept]
    edits.sort()
    rewritten, at = [], 0
    for start, end, text in edits:
        rewritten.append(pattern[at:start] + text)
        at = end
    rewritten.append(pattern[at:])
    if any(check.from_start for _, check in checks):
        rewritten.append(").*)$")
    native = "".join(rewritten)
    # Groups are numbered by where they open: the original ones kept, and the new ones.
    openings = sorted(kept | {position for position, _ in checks})
    number_at = {position: n for n, position in enumerate(openings, start=1)}
    return NativePattern(
        pattern=native,
        group_numbers=tuple(number_at.get(group.start, 0) for group in capturing),
        checks=tuple(
            Check(number_at[position], check.bound, check.from_start) for position, check in checks
        ),
        exact=not _ENGINE_LOOSENS.search(native),
    )


def printable_ascii(pattern: str) -> str:
    """``pattern`` (Rust syntax) made to match printable ASCII only, with ASCII classes.

    The native engine only ever sees printable-ASCII headers (the caller leaves others to
    Python), where the rewritten pattern matches exactly what the original does, with the
    same groups. Its classes are Unicode-aware otherwise: a ``.``, ``[^;]`` or ``\\w`` then
    stands for thousands of characters, and ``\\w{0,30}`` for a large automaton, which the
    engine builds and walks for nothing. So every ``.``, class and class escape becomes its
    intersection with printable ASCII (``[[^;]&&[ -~]]``), and ``\\b`` / ``\\B`` their ASCII
    forms (``(?-u:\\b)``).
    """
    rewritten, at = [], 0
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            end = at + _ESCAPE_LENGTHS.get(pattern[at + 1 : at + 2], 2)
            escape = pattern[at:end]
            if escape[1] in "wWdDsS":
                escape = f"[{escape}&&{_PRINTABLE}]"
            elif escape[1] in "bB":
                escape = f"(?-u:{escape})"
            rewritten.append(escape)
            at = end
        elif char == "[":
            end = _class_end(pattern, at)
            rewritten.append(f"[{pattern[at:end]}&&{_PRINTABLE}]")
            at = end
        else:
            rewritten.append(_PRINTABLE if char == "." else char)
            at += 1
    return "".join(rewritten)


def _leading_dots(pattern: str, repeat: _Repeat, top_branched: bool) -> bool:
    # Whether ``repeat`` is the ".{0,N}" of a pattern "^.{0,N}REST" (REST not an
    # alternative of its own at the top level).
    return (
        repeat.atom_start == 1
        and pattern.startswith("^.")
        and repeat.minimum == 0
        and not repeat.enclosing
        and not top_branched
    )


def _scan(pattern: str) -> tuple[list[_Repeat], list[_Group], bool]:
    # The counted repeats of a pattern and its groups (in order of their "("), enough of
    # Python's regex syntax for ua-parser's regexes: escapes, classes, groups of every
    # kind, alternation, and the quantifiers * + ? {m} {m,} {m,n}, lazy or not.
    repeats: list[_Repeat] = []
    groups: list[_Group] = []
    open_groups: list[_Group] = []
    top_branched = False
    atom: tuple[int, bool, _Group | None] | None = None  # start, one character, group
    at = 0
    while at < len(pattern):
        char = pattern[at]
        quantifier = _QUANTIFIER.match(pattern, at) if atom is not None else None
        if quantifier is not None and (char != "{" or quantifier[1] or quantifier[3]):
            assert atom is not None
            end = quantifier.end()
            lazy = pattern.startswith("?", end)
            minimum, maximum = _bounds(quantifier)
            atom_start, single, group = atom
            if group is not None:
                group.repeated |= maximum > 1
            if char == "{":
                repeats.append(_Repeat(
                    atom_start, at, end + lazy, minimum, maximum, lazy, single,
                    tuple(open_groups),
                ))  # fmt: skip
            at, atom = end + lazy, None
            continue
        if char == "\\":
            length = _ESCAPE_LENGTHS.get(pattern[at + 1 : at + 2], 2)
            atom, at = (at, True, None), at + length
        elif char == "[":
            atom, at = (at, True, None), _class_end(pattern, at)
        elif char == "(":
            capturing = not pattern.startswith("?", at + 1) or pattern.startswith("?P<", at + 1)
            group = _Group(at, capturing, body=_group_body(pattern, at))
            groups.append(group)
            open_groups.append(group)
            atom, at = None, group.body
        elif char == ")":
            group = open_groups.pop()
            group.end = at
            atom, at = (group.start, False, group), at + 1
        elif char == "|":
            top_branched |= not open_groups
            atom, at = None, at + 1
        elif char in "^$":
            atom, at = None, at + 1
        else:
            atom, at = (at, True, None), at + 1
    return repeats, groups, top_branched


def _bounds(quantifier: re.Match[str]) -> tuple[int, int]:
    text = quantifier[0]
    if text in ("*", "+", "?"):
        return {"*": (0, _UNBOUNDED), "+": (1, _UNBOUNDED), "?": (0, 1)}[text]
    low, comma, high = quantifier.groups()
    minimum = int(low or 0)
    return minimum, (int(high) if high else _UNBOUNDED) if comma else minimum


def _group_body(pattern: str, start: int) -> int:
    # Where the body of the group opened at ``start`` begins: past "(", "(?:", "(?i:",
    # "(?P<name>", "(?=" and the like ("(?i)" ends there: its ")" closes it).
    at = start + 1
    if not pattern.startswith("?", at):
        return at
    if pattern.startswith("?P<", at):
        return pattern.index(">", at) + 1
    for prefix in ("?<=", "?<!", "?=", "?!"):
        if pattern.startswith(prefix, at):
            return at + len(prefix)
    flags = _GROUP_FLAGS.match(pattern, at)
    if flags is None:
        raise ValueError(f"unexpected group syntax at {start} in {pattern!r}")
    return flags.end() - (flags[0][-1] == ")")


def _class_end(pattern: str, start: int) -> int:
    # Past the "]" closing the class opened at ``start`` ("]" right after "[" or "[^" is
    # a member, as in Python).
    at = start + 1
    if pattern.startswith("^", at):
        at += 1
    if pattern.startswith("]", at):
        at += 1
    while at < len(pattern) and pattern[at] != "]":
        at += 2 if pattern[at] == "\\" else 1
    return at + 1
