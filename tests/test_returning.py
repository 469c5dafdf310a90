"""The helpers a planned page response goes through (``consentkit/returning.py``)."""

from __future__ import annotations

import time

import pytest

from consentkit import Category, ConsentMiddleware
from consentkit.returning import (
    CONTENT_TYPE,
    OTHER,
    SET_COOKIE,
    VARY,
    header_kind,
    is_html,
    is_page_view,
    is_response_start,
)


@pytest.mark.parametrize(
    ("content_type", "html"),
    [
        (b"text/html; charset=utf-8", True),
        (b"text/html", True),
        (b"TEXT/HTML; charset=UTF-8", True),
        (b"Text/Html", True),
        (b"text/htm", False),
        (b"text/plain; charset=utf-8", False),
        (b"application/json", False),
        (b"", False),
    ],
)
def test_html_is_told_by_its_content_type_in_any_case(content_type, html):
    assert is_html(content_type) is html


@pytest.mark.parametrize(
    ("method", "status", "counted"),
    [("GET", 200, True), ("GET", 204, True), ("GET", 299, True), ("GET", 304, False),
     ("GET", 404, False), ("GET", 199, False), ("POST", 200, False), ("HEAD", 200, False)],
)  # fmt: skip
def test_a_page_view_is_a_get_answered_2xx(method, status, counted):
    message = {"type": "http.response.start", "status": status, "headers": []}
    assert is_page_view(message, {"type": "http", "method": method}) is counted


@pytest.mark.parametrize(
    ("name", "kind"),
    [(b"content-type", CONTENT_TYPE), (b"Content-Type", CONTENT_TYPE),
     (b"CONTENT-TYPE", CONTENT_TYPE), (b"content-Type", CONTENT_TYPE), (b"vary", VARY),
     (b"Vary", VARY), (b"VARY", VARY), (b"set-cookie", SET_COOKIE), (b"Set-Cookie", SET_COOKIE),
     (b"SET-COOKIE", SET_COOKIE), (b"content-typo", OTHER), (b"very", OTHER),
     (b"set-cookie2", OTHER), (b"content-length", OTHER), (b"x-vary", OTHER), (b"", OTHER)],
)  # fmt: skip
def test_the_response_headers_read_are_told_in_any_case(name, kind):
    assert header_kind(name) == kind


def test_the_response_start_is_told_by_its_type_whatever_string_object_carries_it():
    start = "".join(["http.response.", "start"])  # equal, not the same object
    again = "".join(["http.response.", "start"])
    assert start is not again
    assert is_response_start(start) and is_response_start(again) and is_response_start(start)
    for other in ("http.response.body", "http.response.starts", "http.response.stArt",
                  "http.response.trailers", "", None, b"http.response.start"):  # fmt: skip
        assert is_response_start(other) is False
    assert is_response_start(start)  # (after the others: still told)


def test_a_returning_visitors_decision_is_checked_against_the_system_clock(tmp_path):
    """With the settings' clock left as ``time.time``, the request path reads the system
    clock itself (from C where compiled: ``consentkit/clocks.pxd``): each request of a
    visitor with a decision is checked at the time it comes, and a decision that lapsed
    meanwhile is read anew."""
    middleware = ConsentMiddleware(
        secret_key="a-test-secret-of-32-characters-or-more",
        store=f"sqlite:///{tmp_path / 'views.sqlite3'}",
        categories=[Category("analytics", "Counts page views")],
        decision_max_age=3600,
    )
    reader = middleware.reader
    assert reader.system_clock and middleware.returning.system_clock
    cookie = middleware.codec.encode(frozenset({"analytics"}), decision_id="A" * 22)
    scope = {"type": "http", "client": ("203.0.113.9", 4000),
             "headers": [(b"cookie", f"consentkit={cookie}".encode())]}  # fmt: skip
    before = time.time()
    known = reader.known_of(scope)
    after = time.time()
    assert before <= known.seen <= after
    assert "analytics" in known.consent.categories
    assert before + 3600 - 1 <= known.until <= after + 3600 + 1
    known.until = known.seen  # as if the hour had gone by: read anew on the next request
    known.plan = (1, None)
    again = reader.known_of(scope)
    assert again is known and known.seen >= after and known.plan is None
    assert known.until > known.seen + 3000
