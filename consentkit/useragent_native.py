"""ua-parser's three parser lists run on its native engine, with the Python parser's answers.

``user_agents.parse`` walks ``ua_parser.user_agent_parser``'s browser, OS and device parser
lists with Python's ``re``, each to its first parser that gives a family (about 1 ms a
header). :class:`NativeParsers` hands the very same lists, in the same order, to
``ua_parser_rs`` (Rust's ``regex``, with a literal prefilter) and answers the same families.
Native and Python can differ in four ways; each is closed here, not hoped away:

- ``ua_parser_rs`` loosens every repeat bounded at 100 or more (``.{0,100}`` becomes ``.*``)
  to save memory, so that the crawler pattern ``^.{0,100}(bot|...)`` would also match a
  "bot" at the 300th character. :func:`keep_bounded` writes such a repeat as ``{00,100}``,
  which means the same to both engines and which ``ua_parser_rs`` leaves alone.
- Rust's ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII-only where Python's are Unicode, and
  Python's ``$`` also matches before a final newline: headers that are not printable ASCII
  (about 3 in 18,000 real ones) are left to the Python parser (the caller's job).
- A parser whose family comes out empty is skipped by the Python loop and ends the native
  one: then, and wherever a parser could not be made exact, the Python parsers carry on
  from that parser down the list (never slower than the reference; no real header does it).
- A browser family template (``"$1 for ArcGIS"``) goes through ``re.sub`` in Python, which
  reads backslashes in the captured text: a family with a backslash is also re-checked.

Each parser's position in its list rides in an output field that nothing else reads, so
that its answer can be checked against what is known of that parser.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ua_parser import user_agent_parser as python_parsers
from ua_parser_rs import DeviceExtractor, OSExtractor, UserAgentExtractor

__all__ = ["NativeParsers", "keep_bounded"]

# A repeat ``{0,N}`` or ``{1,N}`` with N of three digits or more, not escaped (an even run
# of backslashes before it): exactly what ua_parser_rs turns into ``*`` or ``+``.
_LOOSENED_REPEAT = re.compile(r"(?<!\\)((?:\\\\)*)\{([01]),(\d{3,})\}")


def keep_bounded(pattern: str) -> str:
    """``pattern`` with each repeat that ``ua_parser_rs`` would loosen kept bounded.

    ``{0,100}`` is written ``{00,100}`` (and ``{1,300}`` ``{01,300}``): the same repeat for
    Python and Rust, but not the shape that ``ua_parser_rs`` rewrites. Inside a character
    class the same rewrite only repeats characters already in the class.
    """
    return _LOOSENED_REPEAT.sub(r"\1{0\2,\3}", pattern)


@dataclass(frozen=True, slots=True)
class _ParserList:
    """One of ua_parser's lists, the patterns Rust gets, and where Rust's answer is exact."""

    parsers: Sequence[Any]  # ua_parser's own parser objects, in the reference's order
    patterns: Sequence[str]  # their regexes as handed to Rust
    exact: Sequence[bool]  # whether Rust's family for that parser is the Python parser's

    @classmethod
    def of(cls, parsers: Sequence[Any], family_alike: Callable[[Any], bool]) -> _ParserList:
        patterns = [keep_bounded(parser.user_agent_re.pattern) for parser in parsers]
        exact = [
            family_alike(parser) and not re.search(r"\{[01],\d{3,}\}", pattern)
            for parser, pattern in zip(parsers, patterns, strict=True)
        ]
        return cls(parsers, patterns, exact)

    def carry_on(self, position: int, header: str) -> tuple[str | None, ...]:
        """What the Python loop ends with, knowing that no parser before ``position`` matches."""
        found: tuple[str | None, ...] = self.parsers[position].Parse(header)
        if not found[0]:
            for parser in itertools.islice(self.parsers, position + 1, None):
                found = parser.Parse(header)
                if found[0]:
                    break
        return found


def _resolved_alike(replacement: str | None) -> bool:
    # Whether Rust resolves this replacement as ua_parser's MultiReplace() does: "$1" to
    # "$9" only (Rust would read "$12" and "$1a" as names), and no spaces to strip.
    if replacement is None:
        return True
    return replacement == replacement.strip() != "" and not re.search(
        r"\$(?![1-9](?![0-9A-Za-z_]))", replacement
    )


def _versions_alike(parser: Any) -> bool:
    # Whether Rust's OS version is Python's: a version either comes from a replacement
    # resolved alike, or has no group to come from (Python's empty capture is "" where
    # Rust's is None, and Python also looks at match.lastindex).
    return all(
        _resolved_alike(replacement)
        if replacement is not None
        else parser.user_agent_re.groups < group
        for group, replacement in enumerate(_os_versions(parser), start=2)
    )


def _ignore_case(parser: Any) -> Literal["i"] | None:
    return "i" if parser.user_agent_re.flags & re.IGNORECASE else None


def _zipped(parser_list: _ParserList) -> Iterator[tuple[Any, str]]:
    return zip(parser_list.parsers, parser_list.patterns, strict=True)


def _os_versions(parser: Any) -> tuple[str | None, str | None, str | None]:
    return parser.os_v1_replacement, parser.os_v2_replacement, parser.os_v3_replacement


class NativeParsers:
    """Browser, OS and device families of printable-ASCII headers, as ua_parser answers them.

    Building compiles about 1,270 regexes natively (about half a second and some tens of
    MB), so a process builds one and shares it; calls are thread-safe.
    """

    def __init__(self) -> None:
        browsers = python_parsers.USER_AGENT_PARSERS
        systems = python_parsers.OS_PARSERS
        devices = python_parsers.DEVICE_PARSERS
        # A browser family resolves alike whatever its replacement (see browser()).
        self._browsers = _ParserList.of(browsers, lambda parser: True)
        self._systems = _ParserList.of(systems, lambda p: _resolved_alike(p.os_replacement))
        self._devices = _ParserList.of(devices, lambda p: _resolved_alike(p.device_replacement))
        # Python expands these with re.sub(), which reads backslashes in the capture.
        self._browser_templated = ["$1" in (p.family_replacement or "") for p in browsers]
        self._system_versions_alike = [_versions_alike(p) for p in systems]
        # The position goes in the last version field (browser, OS) or the model (device).
        self._browser_extractor = UserAgentExtractor(
            (pattern, p.family_replacement, None, None, None, str(position))
            for position, (p, pattern) in enumerate(_zipped(self._browsers))
        )
        self._system_extractor = OSExtractor(
            (pattern, p.os_replacement, *_os_versions(p), str(position))
            for position, (p, pattern) in enumerate(_zipped(self._systems))
        )
        self._device_extractor = DeviceExtractor(
            (pattern, _ignore_case(p), p.device_replacement, None, str(position))
            for position, (p, pattern) in enumerate(_zipped(self._devices))
        )

    def browser(self, header: str) -> str:
        """The browser family (``"Other"`` when no parser gives one)."""
        found = self._browser_extractor.extract(header)
        if found is None:  # Rust matches a superset of what Python matches
            return "Other"
        position = int(found.patch_minor or 0)
        family: str | None = found.family
        if (
            not family
            or not self._browsers.exact[position]
            or ("\\" in family and self._browser_templated[position])
        ):
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
        position = int(found.patch_minor or 0)
        if found.family and self._systems.exact[position]:
            if found.family != "Windows":
                return found.family, ""
            if self._system_versions_alike[position]:
                return "Windows", _joined_version(found.major, found.minor, found.patch)
        family, major, minor, patch, _ = self._systems.carry_on(position, header)
        if family != "Windows":
            return family or "Other", ""
        return "Windows", _joined_version(major, minor, patch)

    def device(self, header: str) -> str:
        """The device family (``"Other"`` when no parser gives one)."""
        found = self._device_extractor.extract(header)
        if found is None:
            return "Other"
        position = int(found.model or 0)
        if found.family and self._devices.exact[position]:
            return str(found.family)
        family = self._devices.carry_on(position, header)[0]
        # Past its last parser, the Python loop keeps an empty family rather than "Other".
        return "Other" if family is None else family


def _joined_version(*parts: str | None) -> str:
    # user_agents' version_string: the parts that are not None, digits read as numbers.
    kept = (part for part in parts if part is not None)
    return ".".join(str(int(part)) if part.isdigit() else part for part in kept)
