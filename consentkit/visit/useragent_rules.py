"""The rules that hand ua-parser's parsers to the native engine (``useragent_native.py``):
per parser, the regex Rust is given, the templates of the fields it fills in, and how its
answer is read back as the Python parser's."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .useragent_patterns import NativePattern, native_pattern

# Separators in the fields Rust fills in: never in a printable-ASCII header, and not
# whitespace to Rust, which strips whitespace off an expanded template.
_RAW = "\x1e"  # around a group that must come back untouched
FIELD = "\x1f"  # between the position and the checked groups (OS list), after each group
_GROUP = re.compile(r"\$([0-9])")
_NONE = "$99"  # a template of a group that does not exist: None to Rust
UNUSED = "-"  # a field nothing reads: a fixed text costs Rust nothing to fill in


@dataclass(frozen=True, slots=True)
class Rule:
    """What Rust is given for one parser, and how to read its answer."""

    pattern: str
    family: str | None  # Rust's family template (None: group 1 as it is)
    checked: str | None  # the template of the checked groups' field
    checks: tuple[tuple[int, bool], ...]  # per checked group: its bound, from the start?
    trusted: bool  # Rust's family is the Python parser's, when the checks pass
    unwrap: bool = False  # the family comes back as _RAW + group 1 + _RAW
    browser_template: str | None = None  # a browser family Python expands from group 1
    versions: tuple[str | None, str | None, str | None] = (UNUSED, UNUSED, UNUSED)
    versions_trusted: bool = False  # Rust's OS version is the Python parser's
    # Derived, kept for speed: headers no longer than ``under`` pass every check; for
    # headers no longer than ``quick``, Rust's family is the answer as it comes (when not
    # empty: -1 when it never is). The checked field no longer than ``within`` (texts of
    # the length checks) passes too.
    under: int = dataclasses.field(init=False)
    quick: int = dataclasses.field(init=False)
    within: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        under = min((bound for bound, _ in self.checks), default=1 << 30)
        as_it_comes = self.trusted and not (self.unwrap or self.browser_template)
        starts = any(from_start for _, from_start in self.checks)
        object.__setattr__(self, "under", under)
        object.__setattr__(self, "quick", under if as_it_comes else -1)
        object.__setattr__(self, "within", -1 if starts else under + len(self.checks))

    def family_of(self, header: str, family: str | None, checked: str | None) -> str | None:
        """Rust's family made Python's; None when Python must decide."""
        if not (family and self.trusted):
            return None
        if checked and len(header) > self.under and len(checked) > self.within:
            length = len(header)
            for text, (bound, from_start) in zip(checked.split(FIELD), self.checks, strict=False):
                if (length - len(text) if from_start else len(text)) > bound:
                    return None
        if self.unwrap:
            family = family[1:-1]
        if self.browser_template is not None:
            # Python's re.sub() reads backslashes in group 1, and fails on a group that
            # did not match, which Rust gives as "" like an empty one: Python decides.
            return re.sub(r"\$1", family, self.browser_template) if family else None
        return family or None

    def misses(self, header: str, checked: str | None) -> bool:
        """Whether the Python parser cannot match either: a start check failed.

        The native match starts where the earliest one can (the loosened regex matches
        wherever the original does), past the ``N`` of ``^.{0,N}?``. Python then starts
        from the next parser, sparing the original's backtracking (a crawler's name past
        the 100th character: ~0.3 ms from the device list's crawler regex, ~40 µs after).
        """
        length = len(header)
        texts = checked.split(FIELD) if checked else ()
        return any(
            from_start and length - len(text) > bound
            for text, (bound, from_start) in zip(texts, self.checks, strict=False)
        )


def _renumbered(template: str, native: NativePattern) -> str:
    # "$k" of the original regex -> the same group's "$n" in the native one ("$k" past
    # the last group is an empty string to both, and stays one).
    def number(match: re.Match[str]) -> str:
        k = int(match[1])
        if 1 <= k <= len(native.group_numbers) and native.group_numbers[k - 1]:
            return f"${native.group_numbers[k - 1]}"
        return _NONE

    return _GROUP.sub(number, template)


def _resolved_alike(replacement: str) -> bool:
    # Whether Rust resolves this replacement as ua_parser's MultiReplace() does: "$1" to
    # "$9" only (Rust would read "$12" and "$1a" as names), and no spaces to strip.
    return replacement == replacement.strip() != "" and not re.search(
        r"\$(?![1-9](?![0-9A-Za-z_]))", replacement
    )


def _group_one(native: NativePattern) -> tuple[str | None, bool]:
    # Rust's family for "group 1 as it is" (None and "" alike: both make Python skip the
    # parser), and whether it comes back wrapped: while it is still group 1, Rust gives
    # it so; otherwise a template brings it back between two _RAW (which Rust's trimming
    # of expanded templates leaves alone). Without a group 1 (Python's match[1] fails),
    # an empty family: Python decides.
    first = native.group_numbers[0] if native.group_numbers else 0
    if first == 0:
        return _NONE, False
    return (None, False) if first == 1 else (f"{_RAW}${first}{_RAW}", True)


def _checked(native: NativePattern) -> tuple[str | None, tuple[tuple[int, bool], ...]]:
    # The template of the checked groups' field, and the checks.
    if not native.checks:
        return None, ()
    template = "".join(f"${check.group}{FIELD}" for check in native.checks)
    return template, tuple((check.bound, check.from_start) for check in native.checks)


def browser_rule(parser: Any) -> Rule:
    # Python: a family_replacement with "$1" goes through re.sub(r"\$1", group 1, ...)
    # (Python expands it here too); another one is taken as it is (Rust would expand
    # "$2", and take a blank one for none); none: group 1. No version is needed.
    replacement = parser.family_replacement
    if replacement and "$1" not in replacement:
        native = native_pattern(parser.user_agent_re.pattern, keep=())
        alike = "$" not in replacement and replacement.strip() != ""
        return Rule(native.pattern, replacement, *_checked(native), native.exact and alike)
    native = native_pattern(parser.user_agent_re.pattern, keep={1})
    family, unwrap = _group_one(native)
    return Rule(
        native.pattern, family, *_checked(native), native.exact,
        unwrap=unwrap, browser_template=replacement,
    )  # fmt: skip


def _family_rule(native: NativePattern, replacement: str | None) -> Rule:
    # OS and device families: a replacement goes through MultiReplace() ("$1".."$9"
    # expanded, stripped, "" -> None), which Rust's templates do alike; none: group 1.
    if not replacement:
        family, unwrap = _group_one(native)
        return Rule(native.pattern, family, *_checked(native), native.exact, unwrap=unwrap)
    trusted = native.exact and _resolved_alike(replacement)
    return Rule(native.pattern, _renumbered(replacement, native), *_checked(native), trusted)


def system_rule(parser: Any) -> Rule:
    # The version is read for Windows: Python takes a replacement through MultiReplace(),
    # or else group k when match.lastindex >= k ("" when it matched nothing, where Rust
    # says None): trusted when there is no such group.
    replacement = parser.os_replacement
    if replacement and "$" not in replacement and replacement != "Windows":
        # Never Windows: no version needed, and so no group (each costs the engine).
        native = native_pattern(parser.user_agent_re.pattern, keep=())
        return _family_rule(native, replacement)
    native = native_pattern(parser.user_agent_re.pattern)
    rule = _family_rule(native, replacement)
    replacements = (parser.os_v1_replacement, parser.os_v2_replacement, parser.os_v3_replacement)
    major, minor, patch = (_renumbered(r, native) if r else _NONE for r in replacements)
    trusted = all(
        _resolved_alike(replacement) if replacement else parser.user_agent_re.groups < group
        for group, replacement in enumerate(replacements, start=2)
    )
    return dataclasses.replace(rule, versions=(major, minor, patch), versions_trusted=trusted)


def device_rule(parser: Any) -> Rule:
    # Only the groups the family is made of are needed (brand and model are not).
    replacement = parser.device_replacement
    used = {int(n) for n in _GROUP.findall(replacement)} if replacement else {1}
    return _family_rule(native_pattern(parser.user_agent_re.pattern, keep=used), replacement)


@dataclass(frozen=True, slots=True)
class ParserList:
    """One of ua_parser's lists, and what Rust is given for each of its parsers."""

    parsers: Sequence[Any]  # ua_parser's own parser objects, in the reference's order
    rules: Sequence[Rule]
    # The rules by their position as Rust gives it back, as text (every call reads one:
    # a dictionary lookup costs a third of int()).
    rule_at: dict[str | None, Rule] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        rule_at: dict[str | None, Rule] = {str(n): rule for n, rule in enumerate(self.rules)}
        object.__setattr__(self, "rule_at", rule_at)

    def carry_on(
        self, position: str | None, header: str, rule: Rule, checked: str | None
    ) -> tuple[str | None, ...]:
        """What the Python loop ends with, knowing that no parser before ``position`` (as
        Rust gives it back) matches, nor that one when ``rule`` says it ``misses``."""
        start = int(position or 0) + rule.misses(header, checked)
        found: tuple[str | None, ...] = (None, None, None, None, None)
        for parser in itertools.islice(self.parsers, start, None):
            found = parser.Parse(header)
            if found[0]:
                break
        return found


def ignore_case(parser: Any) -> Literal["i"] | None:
    return "i" if parser.user_agent_re.flags & re.IGNORECASE else None
