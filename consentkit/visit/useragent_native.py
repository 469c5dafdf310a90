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

from collections.abc import Collection, Sequence
from typing import Any

from ua_parser import user_agent_parser as python_parsers
from ua_parser_rs import DeviceExtractor, OSExtractor

from .useragent_names import can_name
from .useragent_patterns import printable_ascii
from .useragent_rules import (
    FIELD,
    UNUSED,
    ParserList,
    browser_rule,
    device_rule,
    ignore_case,
    system_rule,
)

__all__ = ["DeviceList", "NativeParsers"]


class NativeParsers:
    """Browser, OS and device families of printable-ASCII headers, as ua_parser answers them.

    Building compiles about 1,270 regexes natively (a few tenths of a second), so a
    process builds one and shares it; calls are thread-safe.
    """

    def __init__(self, names_read: Collection[str] = ()) -> None:
        """Compile the three lists; ``names_read``: the device families the rules read."""
        browsers = python_parsers.USER_AGENT_PARSERS
        systems = python_parsers.OS_PARSERS
        devices = python_parsers.DEVICE_PARSERS
        self._browsers = ParserList(browsers, [browser_rule(p) for p in browsers])
        self._systems = ParserList(systems, [system_rule(p) for p in systems])
        # Every list goes through an extractor with templated fields to spare: the browser
        # list through OSExtractor (position in "major", checked groups in "minor"), the
        # OS list too (both in "patch_minor"); the device list goes through
        # DeviceExtractor (DeviceList).
        self._browser_extractor = OSExtractor(
            (
                printable_ascii(rule.pattern),
                rule.family,
                str(n),
                rule.checked or UNUSED,
                UNUSED,
                UNUSED,
            )
            for n, rule in enumerate(self._browsers.rules)
        )
        self._system_extractor = OSExtractor(
            (
                printable_ascii(rule.pattern),
                rule.family,
                *rule.versions,
                f"{n}{FIELD}{rule.checked}" if rule.checked else str(n),
            )
            for n, rule in enumerate(self._systems.rules)
        )
        self._devices = DeviceList(devices)
        self._naming = DeviceList([p for p in devices if can_name(p, names_read)])
        self._names_read = frozenset(names_read)

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
            position, _, checked = position.partition(FIELD)
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
        return self._devices.family(header)

    def device_read(self, header: str) -> tuple[str, bool]:
        """The device family as far as the rules read it, and whether that is sure.

        Only the parsers that can name one of ``names_read`` are run (88 of 633; see
        :mod:`consentkit.visit.useragent_names`). ``("Other", True)`` when their first
        answer is none of the names: the full list's answer, whether theirs or an
        earlier parser's, is none of them either. A name comes with False: the full
        list gives that name, or else an earlier parser's family that is none of the
        names; :meth:`device` tells which, when the two would be read differently.
        """
        family = self._naming.family(header)
        if family in self._names_read:
            return family, False
        return "Other", True


class DeviceList:
    """ua_parser's device parsers (all of them, or some in the same order), run natively.

    :meth:`family` answers what ua_parser's loop over the same parsers answers.
    """

    def __init__(self, parsers: Sequence[Any]) -> None:
        self._parsers = ParserList(parsers, [device_rule(p) for p in parsers])
        # The position in "brand", the checked groups in "model".
        self._extractor = DeviceExtractor(
            (
                printable_ascii(rule.pattern),
                ignore_case(parser),
                rule.family,
                str(n),
                rule.checked or UNUSED,
            )
            for n, (parser, rule) in enumerate(zip(parsers, self._parsers.rules, strict=True))
        )

    @property
    def parsers(self) -> ParserList:
        """The parsers and what the native engine was given for each."""
        return self._parsers

    def family(self, header: str) -> str:
        """The device family (``"Other"`` when no parser gives one)."""
        found = self._extractor.extract(header)
        if found is None:
            return "Other"
        rule = self._parsers.rule_at[found.brand]
        family: str | None = found.family
        if family and len(header) <= rule.quick:
            return family
        family = rule.family_of(header, family, found.model)
        if family is None:
            family = self._parsers.carry_on(found.brand, header, rule, found.model)[0]
        # Past its last parser, the Python loop keeps an empty family rather than "Other".
        return "Other" if family is None else family


def _joined_version(major: str | None, minor: str | None, patch: str | None) -> str:
    # user_agents' version_string, but for its numbers (see system()).
    if minor is None and patch is None:
        return major or ""
    return ".".join([part for part in (major, minor, patch) if part is not None])
