"""Exceptions a user of consentkit can meet, each saying what to change."""

from __future__ import annotations


class ConsentkitError(Exception):
    """Base class of every error consentkit raises on purpose."""


class ConfigurationError(ConsentkitError, ValueError):
    """The middleware or a store was configured wrongly; raised at start-up."""


class ConfigurationWarning(UserWarning):
    """A configuration that works but probably does not do what was meant (start-up)."""


class StoreError(ConsentkitError):
    """The store could not be opened or written."""


class QueryError(ConsentkitError, ValueError):
    """An analytics query is malformed; ``field`` names the part that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
