"""Which of ua-parser's device parsers can name a device family that matters.

``user_agents`` reads a device family only to test it against a few names ("iPad",
"iPhone", "Spider" and a dozen more); of the 633 device parsers, most can never produce
one of them ("Archos $1", or "$1" of a group that starts with "PAD-FMD"). Their answers
are all alike to the rules, so a first pass over the parsers that *can* name one decides
most headers (:mod:`consentkit.visit.useragent_native`).

:func:`can_name` errs one way only: it says False only when no header can make the parser
produce one of the names, and True when it cannot tell. The reasoning is on the
expansion ua-parser does, ``MultiReplace()`` (``"$1"``..``"$9"`` replaced by the groups,
the result stripped) or group 1 as it is without a replacement:

- the replacement's literal text must fit the name, the groups standing for anything;
- the first group the replacement reads must take part in every match, and every match
  of it starts with one of a few literal texts (read off the regex's parse tree); the
  name, past the replacement's text before that group, must start with one of them.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection, Sequence
from typing import Any

with warnings.catch_warnings():
    # Python's own regex parser, deprecated as a public module but still the only one
    # that parses exactly what ``re`` compiles.
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sre
    import sre_parse

__all__ = ["can_name"]

_GROUP = re.compile(r"\$([0-9])")
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
_MOST_STARTS = 2048  # past this many literal starts, say nothing (costs stay bounded)
_SMALL_CLASS = 8  # a class of this many literal characters is spelled out


def can_name(parser: Any, names: Collection[str]) -> bool:
    """Whether a header could make this ua_parser device parser give one of ``names``.

    ``parser`` is one of ``ua_parser.user_agent_parser.DEVICE_PARSERS``; names hold no
    leading or trailing spaces (families never do: ua-parser strips them).
    """
    template = parser.device_replacement or "$1"
    parts = _GROUP.split(template)  # literal, group number, literal, ...
    if len(parts) == 1:
        return template.strip() in names
    if parts[0][:1].isspace() or parts[-1][-1:].isspace():
        return True  # what stripping takes off is not worth reasoning about
    # (odd parts are group numbers)
    shape = re.compile(
        "".join(".*" if n % 2 else re.escape(text) for n, text in enumerate(parts)), re.DOTALL
    )
    fitting = [name for name in names if shape.fullmatch(name)]
    if not fitting:
        return False
    regex = parser.user_agent_re
    group = _always_taken(sre_parse.parse(regex.pattern, regex.flags).data, int(parts[1]))
    starts = _starts(group) if group is not None else {""}
    if "" in starts or any(start[0].isspace() for start in starts):
        return True
    lead = len(parts[0])
    return any(
        re.match(re.escape(start), name[lead:], regex.flags) for name in fitting for start in starts
    )


def _always_taken(items: list[Any], number: int) -> list[Any] | None:
    """The body of capturing group ``number`` when every match goes through it."""
    for op, av in items:
        if op is sre.SUBPATTERN:
            group, add_flags, del_flags, body = av
            if add_flags or del_flags:
                # Case rules switched around the group: its literals are not read as the
                # regex's own flags say (not found, so the caller says True).
                continue
            if group == number:
                return list(body)
            if (found := _always_taken(list(body), number)) is not None:
                return found
        elif (
            op in _REPEATS
            and av[0] >= 1
            and (found := _always_taken(list(av[2]), number)) is not None
        ):
            return found
        # Groups under a branch, an optional repeat, a lookaround or a condition may be
        # skipped (and expand to ""): not found, so the caller says True.
    return None


def _starts(items: Sequence[Any]) -> set[str]:
    """Literal texts one of which starts every match of ``items`` ("" when unknown)."""
    text = ""
    for n, (op, av) in enumerate(items):
        rest = items[n + 1 :]
        if op is sre.LITERAL:
            text += chr(av)
        elif op in _ZERO_WIDTH:
            continue  # dropping an assertion only widens what matches
        elif op is sre.SUBPATTERN:
            if av[1] or av[2]:  # flags switched inside: not worth reasoning about
                break
            return _after(text, [_starts([*av[3], *rest])])
        elif op is sre.BRANCH:
            return _after(text, [_starts([*branch, *rest]) for branch in av[1]])
        elif op is sre.IN and len(av) <= _SMALL_CLASS and all(o is sre.LITERAL for o, _ in av):
            follow = _starts(rest)
            return _after(text, [{chr(code) + start for start in follow} for _, code in av])
        elif op in _REPEATS and av[0] >= 1:
            return _after(text, [_starts(list(av[2]))])
        else:
            break
    return {text}


def _after(text: str, alternatives: list[set[str]]) -> set[str]:
    starts = {text + start for found in alternatives for start in found}
    return starts if len(starts) <= _MOST_STARTS else {text}
