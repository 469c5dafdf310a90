"""How a filter matches a stored value: ``is``, ``contains`` and ``matches`` (a regular
expression), case-sensitively or not.

Patterns come from whoever may query, so they run on RE2 (``google-re2``): it answers in
time linear in the value's length whatever the pattern, with no backtracking that a
pattern like ``(a+)+$`` could make take hours. Patterns are also bounded in length, and
RE2's memory per pattern is capped.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import re2

from .model import Condition

MAX_PATTERN_LENGTH = 256
_MAX_PROGRAM_MEMORY = 1 << 20  # bytes RE2 may use for one compiled pattern


@lru_cache(maxsize=256)
def compile_pattern(pattern: str, *, case_sensitive: bool = True) -> Any:
    """The compiled RE2 pattern; ValueError with RE2's reason when it is not one."""
    options = re2.Options()
    options.max_mem = _MAX_PROGRAM_MEMORY
    options.case_sensitive = case_sensitive
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        raise ValueError(f"not a regular expression RE2 accepts: {error}") from None


def matcher(condition: Condition) -> Callable[[str], bool]:
    """Whether a stored value satisfies the condition's positive form (``is`` for
    ``is_not``...): the caller negates it for the ``_not`` ops."""
    op = condition.positive
    if op == "matches":
        patterns = [
            compile_pattern(p, case_sensitive=condition.case_sensitive) for p in condition.values
        ]
        return lambda value: any(p.search(value) is not None for p in patterns)
    fold = (lambda text: text) if condition.case_sensitive else str.casefold
    wanted = [fold(v) for v in condition.values]
    if op == "contains":
        return lambda value: any(w in fold(value) for w in wanted)
    chosen = frozenset(wanted)
    return lambda value: fold(value) in chosen
