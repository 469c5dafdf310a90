"""The native engine's side of user-agent classification: what its regexes are rewritten to,
and when Python's parsers are asked instead.

``tests/test_useragent.py`` holds the proof that the answers are ``user_agents``' on every
string of uap-core's corpora; these tests pin down the pieces that make it fast.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
import user_agents
from hypothesis import given, settings
from hypothesis import strategies as st
from ua_parser import user_agent_parser
from ua_parser_rs import OSExtractor

from consentkit.visit.useragent import UserAgentClassifier
from consentkit.visit.useragent_native import NativeParsers
from consentkit.visit.useragent_patterns import printable_ascii

PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


@pytest.mark.parametrize(
    ("pattern", "rewritten"),
    [
        # Dots, classes and class escapes become their printable-ASCII part.
        (r"a.b", r"a[ -~]b"),
        (r"; ([^;/]{1,100}) Build", r"; ([[^;/]&&[ -~]]{1,100}) Build"),
        (r"(\d+)\.(\w+)\s\S", r"([\d&&[ -~]]+)\.([\w&&[ -~]]+)[\s&&[ -~]][\S&&[ -~]]"),
        # Word boundaries become ASCII ones; other escapes stay as they are.
        (r"\bbot\B\$\x41", r"(?-u:\b)bot(?-u:\B)\$\x41"),
        # "]" first in a class is a member of it, and escapes inside a class stay inside.
        (r"[]a][^]\]x]", r"[[]a]&&[ -~]][[^]\]x]&&[ -~]]"),
        # Groups, flags, anchors and quantifiers are left alone.
        (r"(?i)^(?:ab|c)?$", r"(?i)^(?:ab|c)?$"),
    ],
)
def test_patterns_are_rewritten_for_printable_ascii(pattern: str, rewritten: str) -> None:
    assert printable_ascii(pattern) == rewritten


# Patterns in the style of uap-core's, each with something Unicode-aware in Python and Rust.
EQUIVALENCE_PATTERNS = [
    r"\b(\w{1,8}bot)\b(?:/(\d+)|)",
    r"; {0,2}([^;/]{1,20}?)(?: Build|\) AppleWebKit)",
    r"(?i)(SAMSUNG|sm)[ _\-]([^;/)]{2,12})\s(\S+)",
    r"^(.{0,30}?)(Mobile|Tablet)(\W)(\D*)$",
    r"(?i)\bk(\w)s\b.(.)",
]


def native_groups(pattern: str, header: str) -> tuple[str, ...] | None:
    """The texts of groups 1-5 of Rust's first match of ``pattern`` ("" when unmatched)."""
    found = OSExtractor([(pattern, "<$1>", "<$2>", "<$3>", "<$4>", "<$5>")]).extract(header)
    if found is None:
        return None
    fields = (found.family, found.major, found.minor, found.patch, found.patch_minor)
    return tuple((field or "<>")[1:-1] for field in fields)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), number=st.integers(0, len(EQUIVALENCE_PATTERNS) - 1))
def test_a_rewritten_pattern_matches_printable_ascii_as_python_does(
    data: st.DataObject, number: int
) -> None:
    # On printable ASCII (all the native engine is given), the rewritten pattern finds
    # Python's first match, with the same groups.
    pattern = EQUIVALENCE_PATTERNS[number]
    header = data.draw(
        st.one_of(
            # (from_regex may end a "$" pattern with "\n", which Rust is never given)
            st.from_regex(pattern, alphabet=PRINTABLE).filter(str.isprintable),
            st.text(PRINTABLE, max_size=40),
        )
    )
    python = re.search(pattern, header)
    expected = None
    if python is not None:
        groups = [text or "" for text in python.groups()]
        expected = tuple(groups + [""] * (5 - len(groups)))
    assert native_groups(printable_ascii(pattern), header) == expected


def test_every_reference_regex_compiles_rewritten() -> None:
    # All three lists go through the native engine rewritten (a syntax error would raise).
    parsers = NativeParsers()
    header = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148"
    assert (parsers.browser(header), parsers.system(header)[0], parsers.device(header)) == (
        "Mobile Safari UI/WKWebView",
        "iOS",
        "iPhone",
    )


class _Recording:
    """A ua_parser parser that notes its position in its list whenever Python runs it."""

    def __init__(self, position: int, parser: Any, asked: list[int]) -> None:
        self.position, self.parser, self.asked = position, parser, asked

    def Parse(self, header: str) -> Any:  # ua_parser's name
        self.asked.append(self.position)
        return self.parser.Parse(header)


def test_a_crawler_name_past_the_bound_skips_the_costly_python_regex() -> None:
    # The device list's crawler regex is "^.{0,100}(bot|crawl|...)": natively its
    # leading repeat is taken off and the start of the match checked. Here the native
    # match ("pingbot") starts past the 100th character, where no match of the original
    # can start, so Python carries on from the next parser (~40 µs) instead of running
    # the original (~0.3 ms of backtracking).
    header = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/61.0.3163.100 Safari/537.36 PingdomPageSpeed/1.0 (pingbot/2.0; "
        "+http://www.pingdom.com/)"
    )
    crawlers = next(
        position
        for position, parser in enumerate(user_agent_parser.DEVICE_PARSERS)
        if parser.user_agent_re.pattern.startswith("^.{0,100}(bot|")
    )
    parsers = NativeParsers()
    asked: list[int] = []
    devices = parsers._devices.parsers
    recording = [_Recording(n, parser, asked) for n, parser in enumerate(devices.parsers)]
    parsers._devices._parsers = dataclasses.replace(devices, parsers=recording)
    assert parsers.device(header) == user_agent_parser.ParseDevice(header)["family"] == "Other"
    assert asked[0] == crawlers + 1
    # And the classifier says what user_agents says: no crawler, a Linux desktop.
    agent = UserAgentClassifier(cache_size=0)(header)
    reference = user_agents.parse(header)
    assert (agent.device, agent.browser, agent.is_bot) == ("desktop", "PingdomBot", False)
    assert (reference.is_pc, reference.browser.family, reference.is_bot) == (
        True,
        "PingdomBot",
        False,
    )
