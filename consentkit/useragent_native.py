"""ua-parser's three parser lists run on its native engine, with the Python parser's answers.

``user_agents.parse`` walks ``ua_parser.user_agent_parser``'s browser, OS and device parser
lists with Python's ``re``, each to its first parser that gives a family (about 1 ms a
header). :class:`NativeParsers` hands the very same lists, in the same order, to
``ua_parser_rs`` (Rust's ``regex`` behind a literal prefilter) and answers the same
families. Where the two could differ, the Python parsers decide:

- Long bounded repeats are loosened for speed and their lengths checked after the match
  (:mod:`consentkit.useragent_patterns`); a length past its bound hands over to Python.
- Rust's ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII-only where Python's are Unicode, and
  Python's ``$`` also matches before a final newline: headers that are not printable ASCII
  (3 of uap-core's 17,816) are left to the Python parser (the caller's job).
- A parser whose family comes out empty is skipped by the Python loop and ends the native
  one; a replacement Rust would resolve otherwise ("$12", spaces to strip) is not trusted.
  Then the Python parsers carry on from that parser (no real header does either).

Each parser's position in its list, and the loosened repeats' captures, ride in an output
field that nothing else reads.
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

from .useragent_patterns import Check, NativePattern, native_pattern

__all__ = ["NativeParsers"]

# Separators in the fields Rust fills in: never in a printable-ASCII header, and not
# whitespace to Rust, which strips whitespace off an expanded template.
_RAW = "\x1e"  # around a group that must come back untouched
_FIELD = "\x1f"  # between the parser's position and the loosened repeats' captures
_GROUP = re.compile(r"\$([0-9])")


@dataclass(frozen=True, slots=True)
class _Rule:
    """What Rust is given for one parser, and how to read its answer."""

    pattern: str
    family: str | None  # Rust's family template (None: group 1 as it is)
    position: str  # the template of the field with the position and the checked groups
    checks: tuple[Check, ...]  # whether Rust's match is also the original's
    unwrap: bool  # the family comes back as _RAW + group 1 + _RAW
    trusted: bool  # Rust's family is the Python parser's (when the checks pass)
    browser_template: str | None = None  # a browser family Python expands from group 1
    versions: tuple[str | None, str | None, str | None] = (None, None, None)  # OS only
    versions_trusted: bool = False  # Rust's OS version is the Python parser's

    def holds(self, header_length: int, texts: list[str]) -> bool:
        """Whether the checked groups' ``texts`` show a match of the original regex."""
        for text, check in zip(texts, self.checks, strict=False):
            taken = header_length - len(text) if check.from_start else len(text)
            if taken > check.bound:
                return False
        return True


def _renumbered(template: str, native: NativePattern) -> str:
    # "$k" of the original regex -> the same group's "$n" in the native one ("$k" past
    # the last group is an empty string to both, and stays one).
    def number(match: re.Match[str]) -> str:
        k = int(match[1])
        if 1 <= k <= len(native.group_numbers) and native.group_numbers[k - 1]:
            return f"${native.group_numbers[k - 1]}"
        return "$99"

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
    # of expanded templates leaves alone).
    first = native.group_numbers[0] if native.group_numbers else 0
    return (None, False) if first <= 1 else (f"{_RAW}${first}{_RAW}", True)


def _position_field(position: int, native: NativePattern) -> str:
    # The position, then each checked group.
    groups = "".join(f"{_FIELD}${check.group}" for check in native.checks)
    return f"{position}{groups}{_FIELD}" if groups else str(position)


def _browser_rule(position: int, parser: Any) -> _Rule:
    # Python: a family_replacement with "$1" goes through re.sub(r"\$1", group 1, ...)
    # (which reads backslashes in group 1: Python expands it here too); another one is
    # taken as it is (Rust would expand "$2", and take a blank one for none); none: group 1.
    replacement = parser.family_replacement
    if replacement and "$1" not in replacement:
        native = native_pattern(parser.user_agent_re.pattern, keep=())
        alike = "$" not in replacement and replacement.strip() != ""
        field = _position_field(position, native)
        return _Rule(
            native.pattern, replacement, field, native.checks, False, native.exact and alike
        )
    native = native_pattern(parser.user_agent_re.pattern, keep={1})  # no version needed
    family, unwrap = _group_one(native)
    field = _position_field(position, native)
    return _Rule(
        native.pattern, family, field, native.checks, unwrap, native.exact,
        browser_template=replacement,
    )  # fmt: skip


def _family_rule(position: int, native: NativePattern, replacement: str | None) -> _Rule:
    # OS and device families: a replacement goes through MultiReplace() ("$1".."$9"
    # expanded, stripped, "" -> None), which Rust's templates do alike; none: group 1.
    field = _position_field(position, native)
    if not replacement:
        family, unwrap = _group_one(native)
        return _Rule(native.pattern, family, field, native.checks, unwrap, native.exact)
    trusted = native.exact and _resolved_alike(replacement)
    family = _renumbered(replacement, native)
    return _Rule(native.pattern, family, field, native.checks, False, trusted)


def _system_rule(position: int, parser: Any) -> _Rule:
    native = native_pattern(parser.user_agent_re.pattern)
    rule = _family_rule(position, native, parser.os_replacement)
    # The version, read for Windows: Python takes a replacement through MultiReplace(),
    # or else group k when match.lastindex >= k ("" when it matched nothing, where Rust
    # says None): trusted when there is no such group ("$99", an empty template, is None
    # to Rust, where it would otherwise take its own, renumbered, group k).
    replacements = (parser.os_v1_replacement, parser.os_v2_replacement, parser.os_v3_replacement)
    major, minor, patch = (_renumbered(r, native) if r else "$99" for r in replacements)
    trusted = all(
        _resolved_alike(replacement) if replacement else parser.user_agent_re.groups < group
        for group, replacement in enumerate(replacements, start=2)
    )
    return dataclasses.replace(rule, versions=(major, minor, patch), versions_trusted=trusted)


def _device_rule(position: int, parser: Any) -> _Rule:
    # Only the groups the family is made of are needed (brand and model are not).
    replacement = parser.device_replacement
    used = {int(n) for n in _GROUP.findall(replacement)} if replacement else {1}
    native = native_pattern(parser.user_agent_re.pattern, keep=used)
    return _family_rule(position, native, replacement)


@dataclass(frozen=True, slots=True)
class _ParserList:
    """One of ua_parser's lists, and how its answers from Rust are read."""

    parsers: Sequence[Any]  # ua_parser's own parser objects, in the reference's order
    rules: Sequence[_Rule]

    def carry_on(self, position: int, header: str) -> tuple[str | None, ...]:
        """What the Python loop ends with, knowing that no parser before ``position`` matches."""
        found: tuple[str | None, ...] = self.parsers[position].Parse(header)
        if not found[0]:
            for parser in itertools.islice(self.parsers, position + 1, None):
                found = parser.Parse(header)
                if found[0]:
                    break
        return found

    def read(
        self, header: str, family: str | None, field: str | None
    ) -> tuple[int, _Rule, str | None]:
        """Rust's answer: position, rule and family (None where Python must decide)."""
        position_text, _, checked = (field or "0").partition(_FIELD)
        position = int(position_text)
        rule = self.rules[position]
        if not (family and rule.trusted):
            return position, rule, None
        if checked and not rule.holds(len(header), checked.split(_FIELD)):
            return position, rule, None
        if rule.unwrap:
            family = family[1:-1]
        if rule.browser_template is not None:
            # Python's re.sub() fails on a group that did not match, which Rust gives as
            # "" like an empty one: Python decides.
            family = re.sub(r"\$1", family, rule.browser_template) if family else None
        return position, rule, family or None


def _ignore_case(parser: Any) -> Literal["i"] | None:
    return "i" if parser.user_agent_re.flags & re.IGNORECASE else None


class NativeParsers:
    """Browser, OS and device families of printable-ASCII headers, as ua_parser answers them.

    Building compiles about 1,270 regexes natively (about half a second), so a process
    builds one and shares it; calls are thread-safe.
    """

    def __init__(self) -> None:
        browsers = python_parsers.USER_AGENT_PARSERS
        systems = python_parsers.OS_PARSERS
        devices = python_parsers.DEVICE_PARSERS
        self._browsers = _ParserList(
            browsers, list(itertools.starmap(_browser_rule, enumerate(browsers)))
        )
        self._systems = _ParserList(
            systems, list(itertools.starmap(_system_rule, enumerate(systems)))
        )
        self._devices = _ParserList(
            devices, list(itertools.starmap(_device_rule, enumerate(devices)))
        )
        # The browser list goes through OSExtractor too: its family is a full template,
        # and its fifth field carries the position.
        self._browser_extractor = OSExtractor(
            (rule.pattern, rule.family, "$99", "$99", "$99", rule.position)
            for rule in self._browsers.rules
        )
        self._system_extractor = OSExtractor(
            (rule.pattern, rule.family, *rule.versions, rule.position)
            for rule in self._systems.rules
        )
        self._device_extractor = DeviceExtractor(
            (rule.pattern, _ignore_case(parser), rule.family, None, rule.position)
            for parser, rule in zip(devices, self._devices.rules, strict=True)
        )

    def browser(self, header: str) -> str:
        """The browser family (``"Other"`` when no parser gives one)."""
        found = self._browser_extractor.extract(header)
        if found is None:  # Rust matches a superset of what Python matches
            return "Other"
        position, _, family = self._browsers.read(header, found.family, found.patch_minor)
        if family is None:
            family = self._browsers.carry_on(position, header)[0]
        return family or "Other"

    def system(self, header: str) -> tuple[str, str]:
        """The OS family and, for ``"Windows"`` only, its version as ``user_agents`` joins it.

        Windows is the one family whose version ``user_agents`` reads (``"RT"``, ``"ME"``);
        other families come with ``""``.
        """
        found = self._system_extractor.extract(header)
        if found is None:
            return "Other", ""
        position, rule, family = self._systems.read(header, found.family, found.patch_minor)
        if family is not None and family != "Windows":
            return family, ""
        if family is not None and rule.versions_trusted:
            return family, _joined_version(found.major, found.minor, found.patch)
        family, major, minor, patch, _ = self._systems.carry_on(position, header)
        if family != "Windows":
            return family or "Other", ""
        return family, _joined_version(major, minor, patch)

    def device(self, header: str) -> str:
        """The device family (``"Other"`` when no parser gives one)."""
        found = self._device_extractor.extract(header)
        if found is None:
            return "Other"
        position, _, family = self._devices.read(header, found.family, found.model)
        if family is not None:
            return family
        family = self._devices.carry_on(position, header)[0]
        # Past its last parser, the Python loop keeps an empty family rather than "Other".
        return "Other" if family is None else family


def _joined_version(*parts: str | None) -> str:
    # user_agents' version_string: the parts that are not None, digits read as numbers.
    kept = (part for part in parts if part is not None)
    return ".".join(str(int(part)) if part.isdigit() else part for part in kept)
