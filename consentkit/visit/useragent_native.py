"""ua-parser's three parser lists run on its native engine, with the Python parser's answers.

``user_agents.parse`` walks ``ua_parser.user_agent_parser``'s browser, OS and device parser
lists with Python's ``re``, each to its first parser that gives a family (about 1 ms a
header). :class:`NativeParsers` hands the very same lists, in the same order, to
``ua_parser_rs`` (Rust's ``regex`` behind a literal prefilter) and answers the same
families. Where the two could differ, the Python parsers decide:

- Long bounded repeats are loosened for speed and checked after the match
  (:mod:`consentkit.useragent_patterns`); a failed check hands over to Python.
- Rust's ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII-only where Python's are Unicode, and
  Python's ``$`` also matches before a final newline: headers that are not printable ASCII
  (3 of uap-core's 17,816) are left to the Python parser (the caller's job).
- A parser whose family comes out empty is skipped by the Python loop and ends the native
  one; a replacement Rust would resolve otherwise ("$12", spaces to strip) is not trusted.
  Then the Python parsers carry on from that parser (no real header does either).

Each parser's position in its list, and the checked groups, ride in output fields that
nothing else reads. Every call is a native match and a few Python operations: on a
shared 2-core machine each Python operation costs ~0.05 µs, so the common case is kept
to a handful.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ua_parser import user_agent_parser as python_parsers
from ua_parser_rs import DeviceExtractor, OSExtractor

from .useragent_patterns import NativePattern, native_pattern, printable_ascii

__all__ = ["NativeParsers"]

# Separators in the fields Rust fills in: never in a printable-ASCII header, and not
# whitespace to Rust, which strips whitespace off an expanded template.
_RAW = "\x1e"  # around a group that must come back untouched
_FIELD = "\x1f"  # between the position and the checked groups (OS list), after each group
_GROUP = re.compile(r"\$([0-9])")
_NONE = "$99"  # a template of a group that does not exist: None to Rust
_UNUSED = "-"  # a field nothing reads: a fixed text costs Rust nothing to fill in


@dataclass(frozen=True, slots=True)
class _Rule:
    """What Rust is given for one parser, and how to read its answer."""

    pattern: str
    family: str | None  # Rust's family template (None: group 1 as it is)
    checked: str | None  # the template of the checked groups' field
    checks: tuple[tuple[int, bool], ...]  # per checked group: its bound, from the start?
    trusted: bool  # Rust's family is the Python parser's, when the checks pass
    unwrap: bool = False  # the family comes back as _RAW + group 1 + _RAW
    browser_template: str | None = None  # a browser family Python expands from group 1
    versions: tuple[str | None, str | None, str | None] = (_UNUSED, _UNUSED, _UNUSED)
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
            for text, (bound, from_start) in zip(checked.split(_FIELD), self.checks, strict=False):
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
        texts = checked.split(_FIELD) if checked else ()
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
    template = "".join(f"${check.group}{_FIELD}" for check in native.checks)
    return template, tuple((check.bound, check.from_start) for check in native.checks)


def _browser_rule(parser: Any) -> _Rule:
    # Python: a family_replacement with "$1" goes through re.sub(r"\$1", group 1, ...)
    # (Python expands it here too); another one is taken as it is (Rust would expand
    # "$2", and take a blank one for none); none: group 1. No version is needed.
    replacement = parser.family_replacement
    if replacement and "$1" not in replacement:
        native = native_pattern(parser.user_agent_re.pattern, keep=())
        alike = "$" not in replacement and replacement.strip() != ""
        return _Rule(native.pattern, replacement, *_checked(native), native.exact and alike)
    native = native_pattern(parser.user_agent_re.pattern, keep={1})
    family, unwrap = _group_one(native)
    return _Rule(
        native.pattern, family, *_checked(native), native.exact,
        unwrap=unwrap, browser_template=replacement,
    )  # fmt: skip


def _family_rule(native: NativePattern, replacement: str | None) -> _Rule:
    # OS and device families: a replacement goes through MultiReplace() ("$1".."$9"
    # expanded, stripped, "" -> None), which Rust's templates do alike; none: group 1.
    if not replacement:
        family, unwrap = _group_one(native)
        return _Rule(native.pattern, family, *_checked(native), native.exact, unwrap=unwrap)
    trusted = native.exact and _resolved_alike(replacement)
    return _Rule(native.pattern, _renumbered(replacement, native), *_checked(native), trusted)


def _system_rule(parser: Any) -> _Rule:
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


def _device_rule(parser: Any) -> _Rule:
    # Only the groups the family is made of are needed (brand and model are not).
    replacement = parser.device_replacement
    used = {int(n) for n in _GROUP.findall(replacement)} if replacement else {1}
    return _family_rule(native_pattern(parser.user_agent_re.pattern, keep=used), replacement)


@dataclass(frozen=True, slots=True)
class _ParserList:
    """One of ua_parser's lists, and what Rust is given for each of its parsers."""

    parsers: Sequence[Any]  # ua_parser's own parser objects, in the reference's order
    rules: Sequence[_Rule]
    # The rules by their position as Rust gives it back, as text (every call reads one:
    # a dictionary lookup costs a third of int()).
    rule_at: dict[str | None, _Rule] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        rule_at: dict[str | None, _Rule] = {str(n): rule for n, rule in enumerate(self.rules)}
        object.__setattr__(self, "rule_at", rule_at)

    def carry_on(
        self, position: str | None, header: str, rule: _Rule, checked: str | None
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


def _ignore_case(parser: Any) -> Literal["i"] | None:
    return "i" if parser.user_agent_re.flags & re.IGNORECASE else None


class NativeParsers:
    """Browser, OS and device families of printable-ASCII headers, as ua_parser answers them.

    Building compiles about 1,270 regexes natively (a few tenths of a second), so a
    process builds one and shares it; calls are thread-safe.
    """

    def __init__(self) -> None:
        browsers = python_parsers.USER_AGENT_PARSERS
        systems = python_parsers.OS_PARSERS
        devices = python_parsers.DEVICE_PARSERS
        self._browsers = _ParserList(browsers, [_browser_rule(p) for p in browsers])
        self._systems = _ParserList(systems, [_system_rule(p) for p in systems])
        self._devices = _ParserList(devices, [_device_rule(p) for p in devices])
        # Every list goes through an extractor with templated fields to spare: the browser
        # list through OSExtractor (position in "major", checked groups in "minor"), the
        # OS list too (both in "patch_minor"), the device list through DeviceExtractor
        # (position in "brand", checked groups in "model").
        self._browser_extractor = OSExtractor(
            (
                printable_ascii(rule.pattern),
                rule.family,
                str(n),
                rule.checked or _UNUSED,
                _UNUSED,
                _UNUSED,
            )
            for n, rule in enumerate(self._browsers.rules)
        )
        self._system_extractor = OSExtractor(
            (
                printable_ascii(rule.pattern),
                rule.family,
                *rule.versions,
                f"{n}{_FIELD}{rule.checked}" if rule.checked else str(n),
            )
            for n, rule in enumerate(self._systems.rules)
        )
        self._device_extractor = DeviceExtractor(
            (
                printable_ascii(rule.pattern),
                _ignore_case(parser),
                rule.family,
                str(n),
                rule.checked or _UNUSED,
            )
            for n, (parser, rule) in enumerate(zip(devices, self._devices.rules, strict=True))
        )

    def browser(self, header: str) -> str:
        """The browser family (``"Other"`` when no parser gives one)."""
        found = self._browser_extractor.extract(header)
        if found is None:  # Rust matches a superset of what Python matches
            return "Other"
        rule = self._browsers.rule_at[found.major]
        family: str | None = found.family
        if family and len(header) <= rule.quick:
            return family
        family = rule.family_of(header, family, found.minor)
        if family is None:
            family = self._browsers.carry_on(found.major, header, rule, found.minor)[0]
        return family or "Other"

    def system(self, header: str) -> tuple[str, str]:
        """The OS family and, for ``"Windows"`` only, its version (``"10"``, ``"RT.8.1"``).

        Windows is the one family whose version ``user_agents`` reads, and only whether it
        starts with ``"RT"`` or is ``"ME"``: the version comes as ua-parser gives it, not
        with numbers rewritten as ``user_agents`` does (``"08"`` for its ``"8"``); other
        families come with ``""``.
        """
        found = self._system_extractor.extract(header)
        if found is None:
            return "Other", ""
        position = found.patch_minor  # and the checked groups after it, if any
        rule = self._systems.rule_at.get(position)
        checked = None
        if rule is None and position is not None:
            position, _, checked = position.partition(_FIELD)
            rule = self._systems.rule_at[position]
        assert rule is not None
        family: str | None = found.family
        if not (family and len(header) <= rule.quick):
            family = rule.family_of(header, family, checked)
        if family is not None and family != "Windows":
            return family, ""
        if family is not None and rule.versions_trusted:
            return family, _joined_version(found.major, found.minor, found.patch)
        family, major, minor, patch, _ = self._systems.carry_on(position, header, rule, checked)
        if family != "Windows":
            return family or "Other", ""
        return family, _joined_version(major, minor, patch)

    def device(self, header: str) -> str:
        """The device family (``"Other"`` when no parser gives one)."""
        found = self._device_extractor.extract(header)
        if found is None:
            return "Other"
        rule = self._devices.rule_at[found.brand]
        family: str | None = found.family
        if family and len(header) <= rule.quick:
            return family
        family = rule.family_of(header, family, found.model)
        if family is None:
            family = self._devices.carry_on(found.brand, header, rule, found.model)[0]
        # Past its last parser, the Python loop keeps an empty family rather than "Other".
        return "Other" if family is None else family


def _joined_version(major: str | None, minor: str | None, patch: str | None) -> str:
    # user_agents' version_string, but for its numbers (see system()).
    if minor is None and patch is None:
        return major or ""
    return ".".join([part for part in (major, minor, patch) if part is not None])
