"""``consentkit disclose APP``: print the cookie disclosure of an app's configuration."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..consent.categories import Category
from ..disclosure import FORMATS, Disclosure
from .app_loading import AppLoadError, app_layers, load_app
from .common import CommandError

# The options a Starlette ``Middleware(ConsentMiddleware, ...)`` declaration may carry that
# the disclosure shows (its secret and store are not needed for it).
OPTIONS = ("categories", "decision_max_age", "id_max_age", "cookie_domain", "policy_version")


def add_disclose_command(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``consentkit disclose APP [--format html|md|json] [--output FILE]``."""
    disclose = subparsers.add_parser(
        "disclose", help="print the cookie disclosure of an app's consent configuration"
    )
    disclose.add_argument(
        "app",
        metavar="APP",
        help="module:attribute naming a "
        "ConsentMiddleware, an ASGI app using one, or a list of Category",
    )
    disclose.add_argument(
        "--format",
        choices=list(FORMATS),
        default="html",
        help="HTML for a page, Markdown for docs, JSON for tools",
    )
    disclose.add_argument("--output", help="a file to write (default: standard output)")
    disclose.add_argument(
        "--app-dir", default=".", help="where to import APP from (default: the current directory)"
    )
    disclose.set_defaults(run=_disclose)


def _disclose(args: argparse.Namespace) -> int:
    try:
        disclosure = find_disclosure(load_app(args.app, args.app_dir), args.app)
    except AppLoadError as error:
        raise CommandError(str(error)) from None
    text = FORMATS[args.format][1](disclosure)
    if args.output:
        Path(args.output).write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    else:
        print(text.rstrip("\n"))
    return 0


def find_disclosure(target: object, label: str = "APP") -> Disclosure:
    """The disclosure of a ConsentMiddleware, an ASGI app that uses one, or a category list.

    In an app, a built middleware is preferred (its options are final); otherwise a
    Starlette ``Middleware(ConsentMiddleware, ...)`` declaration in ``user_middleware``.
    """
    from ..middleware import ConsentMiddleware

    if isinstance(target, list | tuple) and target and all(isinstance(c, Category) for c in target):
        return Disclosure.build(categories=target)
    layers = list(app_layers(target))
    for layer in layers:
        if isinstance(layer, ConsentMiddleware):
            return Disclosure.of(layer)
    for layer in layers:
        for entry in getattr(layer, "user_middleware", None) or ():
            cls = getattr(entry, "cls", None)
            if isinstance(cls, type) and issubclass(cls, ConsentMiddleware):
                options = {k: v for k, v in entry.kwargs.items() if k in OPTIONS}
                return Disclosure.build(**options)
    raise AppLoadError(
        f"{label} holds no consent configuration: expected a ConsentMiddleware, an ASGI app "
        f"using one, or a list of Category objects, found {type(target).__name__}"
    )
