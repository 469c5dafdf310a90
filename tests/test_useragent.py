"""UserAgentClassifier: real headers, agreement with ``user_agents.parse``, hostile input.

Every expected value in TABLE is what the reference (``user_agents.parse``) answers, some of
them surprising (see the comments): the classifier is meant to agree with it, not to fix it.
"""

from __future__ import annotations

import ast
import concurrent.futures
import dataclasses
import inspect
import random
import re
import textwrap
import time
from pathlib import Path

import pytest
import user_agents
from ua_parser import user_agent_parser
from user_agents.parsers import UserAgent

from consentkit.visit import useragent
from consentkit.visit.useragent import MAX_UA_LENGTH, UNKNOWN, Agent, CacheInfo, UserAgentClassifier
from consentkit.visit.useragent_names import can_name
from consentkit.visit.useragent_native import NativeParsers
from consentkit.visit.useragent_patterns import Check, native_pattern
from consentkit.visit.useragent_rules import ParserList


def reference(ua: str) -> Agent:
    """The classification spelled out in the brief, straight from ``user_agents.parse``."""
    parsed = user_agents.parse(ua)
    if parsed.is_tablet:
        device = "tablet"
    elif parsed.is_mobile:
        device = "mobile"
    elif parsed.is_pc:
        device = "desktop"
    else:
        device = "other"
    return Agent(device, parsed.browser.family, parsed.os.family, parsed.is_bot)


TABLE = [
    # Phones
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        Agent("mobile", "Mobile Safari", "iOS", False),
        id="iphone-safari-17",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 12_4_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
        Agent("mobile", "Mobile Safari", "iOS", False),
        id="iphone-safari-12",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
        Agent("mobile", "Chrome Mobile iOS", "iOS", False),
        id="iphone-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.6478.71 Mobile Safari/537.36",
        Agent("mobile", "Chrome Mobile", "Android", False),
        id="pixel-8-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/125.0.0.0 Mobile Safari/537.36",
        Agent("mobile", "Chrome Mobile", "Android", False),
        id="android-10-reduced-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/112.0.0.0 Mobile Safari/537.36",
        Agent("mobile", "Chrome Mobile", "Android", False),
        id="galaxy-s23-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 9; SM-G960F Build/PPR1.180610.011) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36",
        Agent("mobile", "Chrome Mobile", "Android", False),
        id="galaxy-s9-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, "
        "like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        Agent("mobile", "Samsung Internet", "Android", False),
        id="galaxy-s23-samsung-internet",
    ),
    pytest.param(
        "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
        Agent("mobile", "Firefox Mobile", "Android", False),
        id="firefox-android",
    ),
    # The pre-Chrome Android browser is the family "Android".
    pytest.param(
        "Mozilla/5.0 (Linux; U; Android 4.0.4; en-gb; GT-I9300 Build/IMM76D) "
        "AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
        Agent("mobile", "Android", "Android", False),
        id="galaxy-s3-stock-browser",
    ),
    # Tablets
    pytest.param(
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        Agent("tablet", "Mobile Safari", "iOS", False),
        id="ipad-safari-17",
    ),
    pytest.param(
        "Mozilla/5.0 (iPad; CPU OS 9_3_5 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like "
        "Gecko) Version/9.0 Mobile/13G36 Safari/601.1",
        Agent("tablet", "Mobile Safari", "iOS", False),
        id="ipad-safari-9",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        Agent("tablet", "Chrome", "Android", False),
        id="galaxy-tab-s9-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 11; SAMSUNG SM-T500) AppleWebKit/537.36 (KHTML, like "
        "Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36",
        Agent("tablet", "Samsung Internet", "Android", False),
        id="galaxy-tab-a7-samsung-internet",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 12; Lenovo TB-X606F) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/120.0.6099.230 Safari/537.36",
        Agent("tablet", "Chrome", "Android", False),
        id="lenovo-tab-m10-chrome",
    ),
    # Surprising: the original Galaxy Tab says "Mobile Safari", so it counts as a phone.
    pytest.param(
        "Mozilla/5.0 (Linux; U; Android 2.2; en-us; SCH-I800 Build/FROYO) "
        "AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
        Agent("mobile", "Android", "Android", False),
        id="galaxy-tab-2010",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Silk/124.2.1 like Chrome/124.0.6367.219 Safari/537.36",
        Agent("tablet", "Amazon Silk", "Android", False),
        id="kindle-fire-hd-8-silk",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) "
        "AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.4 Mobile Safari/535.19 "
        "Silk-Accelerated=true",
        Agent("tablet", "Amazon Silk", "Android", False),
        id="kindle-fire-hd-2012-silk",
    ),
    # Desktops
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        Agent("desktop", "Chrome", "Windows", False),
        id="windows-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
        Agent("desktop", "Edge", "Windows", False),
        id="windows-edge",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
        Agent("desktop", "Firefox", "Windows", False),
        id="windows-firefox",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
        Agent("desktop", "IE", "Windows", False),
        id="windows-7-ie11",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/109.0.0.0 Safari/537.36",
        Agent("desktop", "Chrome", "Windows", False),
        id="windows-7-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0",
        Agent("desktop", "Opera", "Windows", False),
        id="windows-opera",
    ),
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.5 Safari/605.1.15",
        Agent("desktop", "Safari", "Mac OS X", False),
        id="macos-safari",
    ),
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/126.0.0.0 Safari/537.36",
        Agent("desktop", "Chrome", "Mac OS X", False),
        id="macos-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
        Agent("desktop", "Firefox", "Mac OS X", False),
        id="macos-firefox",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
        Agent("desktop", "Firefox", "Linux", False),
        id="linux-firefox",
    ),
    # The OS family is "Ubuntu", not "Linux".
    pytest.param(
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
        Agent("desktop", "Firefox", "Ubuntu", False),
        id="ubuntu-firefox",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        Agent("desktop", "Chrome", "Linux", False),
        id="linux-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        Agent("desktop", "Chrome", "Chrome OS", False),
        id="chromebook",
    ),
    pytest.param(
        "Opera/9.80 (Windows NT 6.1; U; en) Presto/2.12.388 Version/12.16",
        Agent("desktop", "Opera", "Windows", False),
        id="opera-presto",
    ),
    # Crawlers and tools
    # A bot is whatever ua-parser calls a "Spider" device; this one is neither a phone nor a
    # PC, so its device is "other".
    pytest.param(
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        Agent("other", "Googlebot", "Other", True),
        id="googlebot",
    ),
    # The smartphone crawler is a bot on a "mobile" device.
    pytest.param(
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; "
        "Googlebot/2.1; +http://www.google.com/bot.html)",
        Agent("mobile", "Googlebot", "Android", True),
        id="googlebot-smartphone",
    ),
    pytest.param(
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; "
        "+http://www.google.com/bot.html) Chrome/126.0.6478.126 Safari/537.36",
        Agent("other", "Googlebot", "Other", True),
        id="googlebot-desktop-chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        Agent("other", "bingbot", "Other", True),
        id="bingbot",
    ),
    # Surprising: not a bot, but a Mac desktop. Its token sits past the 100th character,
    # out of reach of the crawler-device regex ("^.{0,100}(bot|...)"). ua-parser-rs alone
    # loosens that regex and would say "bot": this entry shows the classifier does not.
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; "
        "+http://www.apple.com/go/applebot)",
        Agent("desktop", "Applebot", "Mac OS X", False),
        id="applebot",
    ),
    pytest.param(
        "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
        Agent("other", "DuckDuckBot", "Other", True),
        id="duckduckbot",
    ),
    pytest.param(
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        Agent("other", "YandexBot", "Other", True),
        id="yandexbot",
    ),
    pytest.param(
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        Agent("other", "AhrefsBot", "Other", True),
        id="ahrefsbot",
    ),
    # Surprising: command-line tools are not bots for the reference (device "other").
    pytest.param(
        "curl/8.5.0",
        Agent("other", "curl", "Other", False),
        id="curl",
    ),
    pytest.param(
        "python-requests/2.32.3",
        Agent("other", "Python Requests", "Other", False),
        id="python-requests",
    ),
    pytest.param(
        "Wget/1.21.4",
        Agent("other", "Wget", "Other", False),
        id="wget",
    ),
    # TVs and consoles
    # Smart TVs and consoles are "other", unless they look like something else:
    pytest.param(
        "Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/5.0 Chrome/94.0.4606.31 TV Safari/537.36",
        Agent("other", "Samsung Internet", "Tizen", False),
        id="samsung-tizen-tv",
    ),
    # Surprising: the PlayStation 5 browser is taken for the "Apple Mail" client.
    pytest.param(
        "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko)",
        Agent("other", "Apple Mail", "Other", False),
        id="playstation-5",
    ),
    # Surprising: an Xbox says "Windows NT 10.0", hence a Windows desktop running Edge.
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041",
        Agent("desktop", "Edge", "Windows", False),
        id="xbox-one",
    ),
    pytest.param(
        "Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/609.4 (KHTML, like "
        "Gecko) NF/6.0.2.21.3 NintendoBrowser/5.1.0.22474",
        Agent("other", "Other", "Other", False),
        id="nintendo-switch",
    ),
    pytest.param(
        "Roku/DVP-9.10 (519.10E04111A)",
        Agent("other", "Roku", "Roku", False),
        id="roku",
    ),
    # Surprising: an Android TV without "Mobile" in its header is a tablet.
    pytest.param(
        "Mozilla/5.0 (Linux; Android 10; BRAVIA 4K UR2) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/110.0.0.0 Safari/537.36",
        Agent("tablet", "Chrome", "Android", False),
        id="sony-bravia-android-tv",
    ),
    # Odd ones
    # Windows RT counts as a tablet.
    pytest.param(
        "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; ARM; Trident/6.0; Touch)",
        Agent("tablet", "IE", "Windows", False),
        id="surface-rt",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.6478.122 Mobile Safari/537.36 EdgA/126.0.2592.80",
        Agent("mobile", "Edge Mobile", "Android", False),
        id="galaxy-a54-edge",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15",
        Agent("mobile", "Firefox iOS", "iOS", False),
        id="iphone-firefox",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro; wv) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36",
        Agent("mobile", "Chrome Mobile WebView", "Android", False),
        id="pixel-8-pro-webview",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; Linux aarch64; rv:109.0) Gecko/20100101 Firefox/115.0",
        Agent("desktop", "Firefox", "Linux", False),
        id="linux-arm-firefox",
    ),
]
UAS: list[str] = [str(param.values[0]) for param in TABLE]

# Headers off the beaten path: where the native regexes are loosened (a crawler token past
# the 100th character), empty captures, non-ASCII and control characters (which take the
# reference's own path), and a few real oddities.
ODD = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 SomeCrawler/1.0 (+https://example.com/bot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15 via yahoo silk",
    "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1; Trident/4.0; Mozilla/4.0 (compatible; "
    "MSIE 6.0; Windows NT 5.1; SV1) ;  Embedded Web Browser from: http://bsalsa.com/; "
    "RSScrawler/4.0 (compatible; MSIE 6.0; Windows NT 5.0); .NET CLR 2.0.50727",
    "/8.1.9 CFNetwork/6.1 Darwin/49.0.0",
    "Mozilla/5.0 (Linux; Android 11; SAMSUNG ) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36",
    "Mozilla/4.0 (compatible; MSIE 5.0; Windows ME) Opera 5.11 [en]",
    "Mozilla/5.0 (X11; U; Linux armv7l; en-GB; rv:1.9.2b6pre) Gecko/20100318 Firefox/3.5 "
    "Maemo Browser 1.7.4.8 RX-51 N900",
    "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (J2ME/22.478; U; en) Presto/2.5.25 Version/10.54",
    "Mozilla/5.0 (Linux; U; Android 4.0.3; de-de; Galaxy Tab 10.1 Build/IML74K) Safari/534.30",
    "Mozilla/5.0 (PlayBook; U; RIM Tablet OS 2.0.1; en-US) AppleWebKit/535.8+ (KHTML, like Gecko) "
    "Version/7.2.0.1 Safari/535.8+",
    "Mozilla/5.0 (Mobile; rv:26.0) Gecko/18.0 Firefox/26.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile Café/1.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8)\tChrome/126.0 Mobile Safari/537.36",
    "Googlebot/2.1\n",
    "Mozilla/5.0 (Windows NT 10.0; \x00Win64) Chrome/126.0.0.0",
    "Mozilla/5.0 (iPhone\udcff; CPU iPhone OS 17_5 like Mac OS X)",
    "$1 \\1 \\g<0> ${1} $$",
    # A model name past the 100 characters of "[^;]{1,100}?", and a crawler's token past
    # the 200 of "^.{0,200}?": the native match is checked, and Python decides.
    "Mozilla/5.0 (Linux; Android 10; " + "Model" * 25 + " Build/QP1A) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; " + "Zq; " * 60 + "Zzzspider/1.0)",
    "Mozilla/5.0 (compatible; " + "Zq; " * 20 + "Zzzspider/1.0)",
    "()",
    " ",
]


@pytest.fixture(scope="module")
def classify() -> UserAgentClassifier:
    return UserAgentClassifier()


@pytest.mark.parametrize(("ua", "expected"), TABLE)
def test_real_user_agents(classify: UserAgentClassifier, ua: str, expected: Agent) -> None:
    assert classify(ua) == expected


@pytest.mark.parametrize("ua", UAS)
def test_agrees_with_the_reference_on_every_table_entry(
    classify: UserAgentClassifier, ua: str
) -> None:
    assert classify(ua) == reference(ua)


@pytest.mark.parametrize("ua", ODD)
def test_agrees_with_the_reference_off_the_beaten_path(
    classify: UserAgentClassifier, ua: str
) -> None:
    assert classify(ua) == reference(ua[:MAX_UA_LENGTH])


def test_agrees_with_the_reference_on_version_variants() -> None:
    # The same browsers with other version numbers and a token dropped here and there:
    # what a cache never saw before. A fresh classifier, so that nothing is cached.
    classify, rng = UserAgentClassifier(), random.Random(7)
    for ua in UAS:
        for _ in range(4):
            variant = re.sub(r"\d+", lambda m: str(rng.randint(0, 150)), ua)
            if rng.random() < 0.3:
                tokens = variant.split(" ")
                del tokens[rng.randrange(len(tokens))]
                variant = " ".join(tokens)
            assert classify(variant) == reference(variant), variant


def test_empty_header_is_unknown(classify: UserAgentClassifier) -> None:
    assert classify("") == UNKNOWN == Agent("other", "Other", "Other", False)


def test_never_raises_on_non_strings(classify: UserAgentClassifier) -> None:
    for value in (None, b"Mozilla/5.0 (iPhone)", 42):
        assert classify(value) == UNKNOWN  # type: ignore[arg-type]


def test_a_100_kb_header_is_truncated_before_classifying_and_caching() -> None:
    classify = UserAgentClassifier()
    iphone = UAS[0]
    huge = iphone + " " + "A" * 100_000
    assert len(huge) > 100_000
    start = time.perf_counter()
    agent = classify(huge)
    assert time.perf_counter() - start < 0.1
    assert agent == classify(huge[:MAX_UA_LENGTH]) == reference(huge[:MAX_UA_LENGTH])
    assert agent.device == "mobile"
    # Both calls hit one cache entry, keyed by the first MAX_UA_LENGTH characters only.
    info = classify.cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 1, 1)
    classify(huge[:MAX_UA_LENGTH] + "something else entirely")
    assert classify.cache_info().hits == 2
    # Hostile padding in front: a cheap "other", not a slow scan of 100 KB.
    assert classify("\x00" * 100_000 + iphone) == reference("\x00" * MAX_UA_LENGTH)


def test_the_cache_is_bounded_and_reused() -> None:
    classify = UserAgentClassifier(cache_size=8)
    for ua in UAS[:20]:
        classify(ua)
    info = classify.cache_info()
    assert (info.maxsize, info.currsize, info.misses, info.hits) == (8, 8, 20, 0)
    for ua in UAS[12:20]:  # the 8 most recent
        classify(ua)
    assert classify.cache_info().hits == 8
    classify.cache_clear()
    assert classify.cache_info().currsize == 0


def test_a_zero_cache_still_classifies() -> None:
    classify = UserAgentClassifier(cache_size=0)
    assert classify(UAS[0]) == reference(UAS[0])
    assert classify.cache_info().currsize == 0


def test_classifiers_share_one_native_engine() -> None:
    # Building the native regexes takes ~0.2 s: only the first classifier pays for it.
    UserAgentClassifier()
    start = time.perf_counter()
    UserAgentClassifier()
    assert time.perf_counter() - start < 0.05


def test_agents_hold_nothing_identifying() -> None:
    agent = UserAgentClassifier()(UAS[0])
    assert agent.device in {"desktop", "mobile", "tablet", "other"}
    # No version numbers, models or the header itself.
    assert not any(ch.isdigit() for ch in f"{agent.browser}{agent.os}")
    with pytest.raises(AttributeError):
        agent.device = "desktop"  # type: ignore[misc]


def test_threads_share_a_classifier() -> None:
    # Requests are classified from many threads at once: same answers, nothing raised.
    classify = UserAgentClassifier(cache_size=16)  # small: entries come and go meanwhile
    headers = UAS + [ua for ua in ODD if ua.isascii() and ua.isprintable()]
    expected = [classify(header) for header in headers]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        rounds = list(pool.map(lambda _: [classify(h) for h in headers], range(16)))
    assert all(answers == expected for answers in rounds)


def test_cache_info_is_a_plain_named_tuple() -> None:
    classify = UserAgentClassifier(cache_size=2)
    classify(UAS[0])
    classify(UAS[0])
    assert classify.cache_info() == CacheInfo(hits=1, misses=1, maxsize=2, currsize=1)


# uap-core's test corpora (Apache 2.0), beside the repository in CI and here.
UAP_CORE = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "uap-core"
# One "- user_agent_string: ..." line per case, single- or double-quoted (as
# tests/benchmarks/realistic_site.py reads them; the same strings as a YAML parser's).
QUOTED = re.compile(r"""^\s*- user_agent_string: (?:'((?:[^']|'')*)'|"((?:[^"\\]|\\.)*)")""")


def uap_core_corpus(name: str) -> list[str]:
    """Every user-agent string of one of uap-core's test files, in its order."""
    path = UAP_CORE / name
    if not path.exists():
        pytest.skip(f"uap-core's corpus is not at {path}")
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := QUOTED.match(line):
            single, double = match.groups()
            found.append(
                single.replace("''", "'")
                if single is not None
                else double.encode().decode("unicode_escape")
            )
    assert found, f"no user_agent_string in {path}"
    return found


@pytest.mark.parametrize(
    ("name", "count"),
    [("test_ua.yaml", 1601), ("test_os.yaml", 483), ("test_device.yaml", 16_129)],
)
def test_agrees_with_the_reference_on_every_uap_core_string(name: str, count: int) -> None:
    # All 18,213 strings (17,816 distinct), each unseen by a classifier without a cache,
    # against user_agents.parse itself: ~1 ms each, ~20 s in all. This is the proof that
    # the rewritten regexes, their checks and the rules spelled out from user_agents give
    # its answers; it is kept in the default run on purpose.
    headers = uap_core_corpus(name)
    assert len(headers) == count
    classify = UserAgentClassifier(cache_size=0)
    differences = [
        (header, mine, theirs)
        for header in headers
        if (mine := classify(header)) != (theirs := reference(header[:MAX_UA_LENGTH]))
    ]
    assert not differences, f"{len(differences)} of {count} differ, e.g. {differences[:3]}"


@pytest.mark.parametrize(
    ("pattern", "keep", "native", "checks"),
    [
        # A long repeat is loosened, in a group of its own whose length is checked.
        (r"(Nexus) [^;]{1,100}; x", None, r"(Nexus) ([^;]+); x", [Check(2, 100)]),
        # A group that is nothing but the repeat checks its own length.
        (r"; ([^;/]{1,100}?) Build", None, r"; ([^;/]+?) Build", [Check(1, 100)]),
        # Short repeats stay (cheap enough), and so do exact counts.
        (r"a{0,20}b{32}", None, r"a{0,20}b{32}", []),
        # Groups not used become non-capturing (cheaper), unless checked.
        (r"(Chrome)/(\d+) (x{0,60})", {1}, r"(Chrome)/(?:\d+) (x*)", [Check(2, 60)]),
        # "^.{0,N}?REST" is REST searched, its start taken from a group to the end.
        (r"^.{0,200}?(bot)", None, r"((?:(bot)).*)$", [Check(1, 200, from_start=True)]),
        # Greedy, only when the groups are not used (the first start is not the last).
        (r"^.{0,100}(bot)", (), r"((?:(?:bot)).*)$", [Check(1, 100, from_start=True)]),
        (r"^.{0,100}(bot)", None, r"^(.*)(bot)", [Check(1, 100)]),
        # A long repeat in a repeated group cannot be checked: kept, bounded natively.
        (r"(?:a.{0,100}){2}", None, r"(?:a.{00,100}){2}", []),
    ],
)
def test_long_repeats_are_loosened_and_checked(
    pattern: str, keep: set[int] | None, native: str, checks: list[Check]
) -> None:
    rewritten = native_pattern(pattern, keep=keep)
    assert (rewritten.pattern, list(rewritten.checks)) == (native, checks)
    assert rewritten.exact


def test_every_reference_regex_is_exact_natively() -> None:
    # No parser is left with a repeat that ua_parser_rs would loosen unchecked.
    for parsers in (
        user_agent_parser.USER_AGENT_PARSERS,
        user_agent_parser.OS_PARSERS,
        user_agent_parser.DEVICE_PARSERS,
    ):
        for parser in parsers:
            assert native_pattern(parser.user_agent_re.pattern).exact, parser.user_agent_re


def test_the_python_parsers_take_over_wherever_native_is_not_trusted() -> None:
    # The safety net for parsers that cannot be made exact (none in today's regexes, but
    # a new regexes.yaml may bring some) and for empty families: with every parser marked
    # untrusted, the Python loop decides from the native engine's first match onwards.
    def distrusted(parsers: ParserList) -> ParserList:
        rules = [dataclasses.replace(rule, trusted=False) for rule in parsers.rules]
        return dataclasses.replace(parsers, rules=rules)

    distrusting = NativeParsers({"iPad"})
    distrusting._browsers = distrusted(distrusting._browsers)
    distrusting._systems = distrusted(distrusting._systems)
    for devices in (distrusting._devices, distrusting._naming):
        devices._parsers = distrusted(devices.parsers)
    for header in UAS + [ua for ua in ODD if ua.isascii() and ua.isprintable()]:
        parsed = user_agent_parser.Parse(header)
        device = parsed["device"]["family"]
        assert (
            distrusting.browser(header),
            distrusting.system(header)[0],
            distrusting.device(header),
        ) == (
            parsed["user_agent"]["family"],
            parsed["os"]["family"],
            device,
        ), header
        # The first pass over the parsers that can name "iPad" (see the next test).
        read = distrusting.device_read(header)
        possible = {("iPad", False)} if device == "iPad" else {("Other", True), ("iPad", False)}
        assert read in possible, header


def test_the_rules_read_what_the_reference_rules_read() -> None:
    # consentkit.visit.useragent spells out user_agents' is_tablet, is_mobile, is_pc and is_bot.
    # Should a new user_agents read anything else (another substring of the header, the
    # browser version), this fails before answers drift apart.
    cls = ast.parse(textwrap.dedent(inspect.getsource(UserAgent))).body[0]
    assert isinstance(cls, ast.ClassDef)
    methods = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    todo, seen, tokens, reads = ["is_tablet", "is_mobile", "is_pc", "is_bot"], set(), set(), set()
    while todo:
        if (name := todo.pop()) in seen:
            continue
        seen.add(name)
        tested = set()
        for node in ast.walk(methods[name]):
            if (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Constant)
                and all(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
                and ast.unparse(node.comparators[0]) == "self.ua_string"
            ):
                tokens.add(node.left.value)
                tested.add(id(node.comparators[0]))
        for node in ast.walk(methods[name]):
            if isinstance(node, ast.Attribute) and ast.unparse(node.value) == "self":
                if node.attr in methods:
                    todo.append(node.attr)
                elif node.attr == "ua_string":
                    assert id(node) in tested, f"{name} reads the header otherwise"
                else:
                    reads.add(node.attr)
            elif isinstance(node, ast.Attribute) and re.fullmatch(
                r"self\.\w+", ast.unparse(node.value)
            ):
                reads.add(ast.unparse(node).removeprefix("self."))  # e.g. self.os.family
    assert reads == {
        "os", "browser", "device",
        "os.family", "os.version_string", "browser.family", "device.family",
    }  # fmt: skip
    # The same substrings of the header are tested on this side.
    mirror = ast.parse(inspect.getsource(useragent))
    ours = {
        node.left.value
        for node in ast.walk(mirror)
        if isinstance(node, ast.Compare)
        and isinstance(node.left, ast.Constant)
        and ast.unparse(node.comparators[0]) == "header"
    }
    assert ours == tokens


NAMES = {"iPhone", "iPad", "Kindle", "Kindle Fire", "Dell Streak", "Spider"}


@pytest.mark.parametrize(
    ("pattern", "flag", "replacement", "can"),
    [
        # A fixed replacement names what it says.
        ("Kindle/", None, "Kindle", True),
        ("Xoom/", None, "Nexus", False),
        # The replacement's own text rules names out; or fits one, and then the group must.
        ("Archos ([^;]+)", None, "Archos $1", False),
        (r"; (Streak)\)", None, "Dell $1", True),
        (r"; (Venue)\)", None, "Dell $1", False),
        # Every match of the group starts with a text no name starts with.
        ("; (PAD-FMD[^;]+) Build", None, "$1", False),
        ("(SM-[A-Z]+|GT-[0-9]+)", None, None, False),
        ("(S(?:GH|CH)-[0-9]+)", None, "$1 $2", False),
        # ... but with the regex's own case rules: "ipad" is "iPad" to an "i" parser.
        ("(ipad);", None, None, False),
        ("(ipad);", "i", None, True),
        ("(?i:(ipad));", None, None, True),
        ("(?i:x(ipad));", None, None, True),
        ("([Ii]Phone)", None, None, True),
        # Whatever the group may be: a name could come out.
        ("; ([^;]+) Build", None, "$1", True),
        ("(i?Pad)", None, None, True),
        ("(Kindle|Nook)", None, None, True),
        # A group that may be empty or skipped leaves the next group first.
        ("(Advent |)(iPad)", None, "$1$2", True),
        ("(?:(X1)|(iPad))", None, "$1$2", True),
        ("(?:(X1))?(iPad)", None, "$1$2", True),
        # Leading space would be stripped: no reasoning about it.
        ("( Kindle)", None, "$1", True),
    ],
)
def test_a_device_parser_is_left_out_only_when_it_cannot_name_a_family(
    pattern: str, flag: str | None, replacement: str | None, can: bool
) -> None:
    parser = user_agent_parser.DeviceParser(pattern, flag, replacement)
    assert can_name(parser, NAMES) is can


def test_the_first_pass_over_naming_parsers_is_the_full_lists_answer_as_read() -> None:
    # device_read() runs the parsers that can name a family the rules read; "sure" means
    # the full list's family is none of those, else it is the one given or none of them.
    parsers = useragent._shared_parsers()
    names = useragent._DEVICES_READ
    headers = [h for h in uap_core_corpus("test_device.yaml") if h.isascii() and h.isprintable()]
    unsure = 0
    for header in headers[::4] + UAS:
        family, sure = parsers.device_read(header)
        full = parsers.device(header)
        if sure:
            assert (family, full in names) == ("Other", False), header
        else:
            unsure += 1
            assert family in names and (full == family or full not in names), header
    assert 0 < unsure < len(headers) // 4
    left_out = [p for p in user_agent_parser.DEVICE_PARSERS if not can_name(p, names)]
    assert len(left_out) > len(user_agent_parser.DEVICE_PARSERS) * 3 // 4
