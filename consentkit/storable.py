"""Text as every store can hold it."""

from __future__ import annotations

import re

# Control characters and halves of surrogate pairs: PostgreSQL's text cannot hold a NUL, a
# driver cannot encode an unpaired surrogate, and no real page or browser name has either.
UNSTORABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def storable_text(text: str) -> str:
    """``text`` as every store can hold it: what cannot be stored becomes U+FFFD. A path or
    a user agent's family name that came from a hostile request must not make a write
    fail, since a failed flush is retried with everything counted after it."""
    if text.isprintable():  # all but always: no control character, no lone surrogate
        return text
    return UNSTORABLE.sub("\ufffd", text)
