"""What withdrawing a category or service removes from the browser: every cookie that it
declares. A decision that lapses (expired, or made under an older policy version) clears
the cookies of what it granted in the same way, on the next page the browser asks for.

A browser keeps one cookie per (name, domain, path), and a ``Set-Cookie`` only deletes the
one with the same Domain and Path, so each declared variant gets its own expiring header.
Cookies declared by a glob pattern (``_ga_*``) are expired under the names the browser sent
with the request that withdrew them; a plain name is expired whether it was sent or not
(a cookie with a narrower Path is not sent to ``/consentkit/consent``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import translate
from typing import NamedTuple

from .categories import CategorySet
from .cookies import cookie_names, expire_variant


class _Declared(NamedTuple):
    name: str
    pattern: re.Pattern[str] | None  # for a glob pattern; None for a plain name
    variants: tuple[tuple[str, str | None], ...]  # (path, domain or None for host-only)


class CookieExpiry:
    """``Set-Cookie`` headers that expire the cookies of withdrawn categories."""

    def __init__(self, categories: CategorySet) -> None:
        owners = [(c.name, c.declared) for c in categories.all] + [
            (s.name, s.declared) for c in categories.all for s in c.services
        ]
        self._declared = {
            owner: [
                _Declared(
                    cookie.name,
                    re.compile(translate(cookie.name)) if cookie.is_pattern else None,
                    tuple(
                        (path, domain)
                        for domain in (cookie.domains or (None,))
                        for path in cookie.paths
                    ),
                )
                for cookie in declared
            ]
            for owner, declared in owners
        }
        self._services = {c.name: tuple(s.name for s in c.services) for c in categories.all}

    def headers(
        self,
        withdrawn: Iterable[str],
        cookie_header: str,
        *,
        secure: bool,
        only_sent: bool = False,
        keep: frozenset[str] = frozenset(),
    ) -> list[str]:
        """Expiring ``Set-Cookie`` values for the cookies of the ``withdrawn`` categories
        (their services' too, except those in ``keep``: still allowed alone) and services;
        with ``only_sent``, plain names too only when the browser sent them."""
        sent = cookie_names(cookie_header)
        owners = set(withdrawn)
        for category in withdrawn:
            owners.update(s for s in self._services.get(category, ()) if s not in keep)
        result: list[str] = []
        for owner in sorted(owners):
            for declared in self._declared.get(owner, ()):
                pattern = declared.pattern
                if pattern:
                    names = [n for n in sent if pattern.match(n)]
                elif only_sent and declared.name not in sent:
                    continue
                else:
                    names = [declared.name]
                for name in names:
                    for path, domain in declared.variants:
                        header = expire_variant(name, path=path, domain=domain, secure=secure)
                        if header not in result:
                            result.append(header)
        return result
