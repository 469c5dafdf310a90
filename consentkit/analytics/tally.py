"""The page views of one batch, as the request path counts them: in memory, no I/O.

Counting writes two integers into flat columns: the cell (the hour, and numbers for the
segment and the page from dicts that live as long as the batch, packed into one int) and
the visitor's hash. The columns are arrays of 64-bit integers, written in place through a
memoryview (the compiled build writes the C integers straight into them, where
``array.append`` would take each through a Python int) and doubled when full.
``PageViewBuffer`` takes the batch about once a second and hands it to the store. This
module is on every counted request's path: it is one of the few that a compiler turns into
C when it can (``consentkit/compiled.py``); as Python it is the same.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

from .batch import NO_ORIGIN, Origin, Segment, Traits
from .cube import HOUR_BITS, NUMBER_BITS, NUMBER_MASK

# The cube's bit widths again, as this module's own names: the compiled build makes them
# C constants (tally.pxd), so that a count packs its cell without Python arithmetic.
_HOUR_BITS = HOUR_BITS
_NUMBER_BITS = NUMBER_BITS
FIRST_ROOM = 256  # a batch's columns start with room for this many page views (then double)


def _column(typecode: str, size: int) -> array[int]:
    return array(typecode, bytes(8 * size))


@dataclass(frozen=True, slots=True)
class Counted:
    """One batch of counted page views, as the request path left it."""

    segments: list[Traits]  # segment number -> segment, origin and event
    pages: list[str]  # page number -> page
    cells: array[int]  # packed cell (see cube.pack), per page view with a visitor
    visitors: array[int]  # the visitor's 64-bit keyed hash, per page view with a visitor
    anonymous: array[int]  # packed cell, per page view without one
    bots: dict[int, int]  # hour -> bot page views
    engaged: array[int]  # packed cell, per engagement report
    engaged_ms: array[int]  # its engaged milliseconds
    scroll: array[int]  # its deepest scroll, in percent

    @property
    def views(self) -> int:
        """What takes room in the buffer: page views, events and engagement reports."""
        return len(self.cells) + len(self.anonymous) + len(self.engaged)

    @property
    def size(self) -> int:
        return self.views + sum(self.bots.values())


class Tally:
    """What is counted until the next flush, within ``room`` page views (past it, new ones
    are dropped and counted in ``dropped``)."""

    def __init__(self, max_pending: int) -> None:
        if not 0 < max_pending <= NUMBER_MASK:
            raise ValueError(f"max_pending must be between 1 and {NUMBER_MASK:,}")
        self.dropped = 0
        self.room = max_pending  # page views that may still be counted before dropping
        self.batch = 0  # which batch this is: the numbers in a cell hold within one
        # Each batch numbers its traits (segment, origin, event) in ``_traits``; a plain
        # page view (most of them) finds its number by its segment alone, a way in by its
        # origin then its segment: no tuple is built for either (see ``count``).
        self._new_batch()

    def _new_batch(self) -> None:
        self.batch += 1
        self._traits: list[Traits] = []
        self._segments: dict[Segment, int] = {}
        self._landings: dict[Origin, dict[Segment, int]] = {}
        self._goals: dict[Traits, int] = {}
        self._pages: dict[str, int] = {}
        self._bots: dict[int, int] = {}
        self._engaged: array[int] = array("q")
        self._engaged_ms: array[int] = array("q")
        self._scroll: array[int] = array("q")
        # Page views with a visitor: their cells and hashes, the first ``_counted`` of the
        # columns; and without one, the first ``_anonymous_counted`` of ``_anonymous``.
        self._counted = self._anonymous_counted = 0
        self._cells = _column("q", FIRST_ROOM)
        self._visitors = _column("Q", FIRST_ROOM)
        self._anonymous = _column("q", FIRST_ROOM)
        self._cell_at = memoryview(self._cells)
        self._visitor_at = memoryview(self._visitors)
        self._anonymous_at = memoryview(self._anonymous)

    def _grow(self) -> None:
        """Twice the room for page views with a visitor (the columns copied once)."""
        size = len(self._cells)
        self._cells = self._cells + _column("q", size)  # (new arrays: the views hold the old)
        self._visitors = self._visitors + _column("Q", size)
        self._cell_at = memoryview(self._cells)
        self._visitor_at = memoryview(self._visitors)

    def _grow_anonymous(self) -> None:
        self._anonymous = self._anonymous + _column("q", len(self._anonymous))
        self._anonymous_at = memoryview(self._anonymous)

    def count(
        self,
        hour: int,
        segment: Segment,
        page: str,
        visitor: int | None,
        origin: Origin = NO_ORIGIN,
        event: str = "",
    ) -> int:
        """One page view, or with ``event`` a custom event (a goal) on ``page``; ``visitor``
        is the visitor's keyed hash, None when anonymous; ``origin`` where the visitor came
        in from, on the page view that brought them. Returns the packed cell it was
        counted in (-1 when dropped): ``count_cell`` counts the same page view again
        within this batch (``batch``) without looking its numbers up."""
        if self.room <= 0:
            self.dropped += 1
            return -1
        self.room -= 1
        if hour < 0 or hour >> _HOUR_BITS:  # past 2209: it would not fit in the packed cell
            raise ValueError(f"hour {hour} is outside the cube's range")
        table: dict[Any, int]
        key: Any = segment  # a Segment, or for a goal its Traits
        if event:  # a goal: rare enough to be keyed by all its traits
            table, key = self._goals, segment + origin + (event,)
        elif origin[0]:  # the page view that brought the visitor in
            table = self._landings.get(origin) or self._landings.setdefault(origin, {})
        else:
            table = self._segments
        number = table.get(key)
        if number is None:
            number = table[key] = len(self._traits)
            self._traits.append(segment + origin + (event,))
        s = number
        number = self._pages.get(page)
        if number is None:
            number = self._pages[page] = len(self._pages)
        p = number
        cell = (hour << _NUMBER_BITS | s) << _NUMBER_BITS | p  # cube.pack, inlined
        self._add(cell, visitor)
        return cell

    def count_cell(self, cell: int, visitor: int | None) -> None:
        """One more page view in a cell that ``count`` returned during this batch."""
        if self.room <= 0:
            self.dropped += 1
            return
        self.room -= 1
        self._add(cell, visitor)

    def _add(self, cell: int, visitor: int | None) -> None:
        if visitor is None:
            n = self._anonymous_counted
            if n == len(self._anonymous):
                self._grow_anonymous()
            self._anonymous_at[n] = cell
            self._anonymous_counted = n + 1
        else:
            n = self._counted
            if n == len(self._cells):
                self._grow()
            self._cell_at[n] = cell
            self._visitor_at[n] = visitor
            self._counted = n + 1

    def engage(self, hour: int, segment: Segment, page: str, ms: int, scroll: int) -> None:
        """An engagement report: ``ms`` milliseconds engaged on ``page`` and its deepest
        ``scroll`` percent, added to the cell of that page's views (not a page view)."""
        if self.room <= 0:
            self.dropped += 1
            return
        self.room -= 1
        if hour < 0 or hour >> _HOUR_BITS:
            raise ValueError(f"hour {hour} is outside the cube's range")
        s = self._segments.get(segment)
        if s is None:
            s = self._segments[segment] = len(self._traits)
            self._traits.append(segment + NO_ORIGIN + ("",))
        p = self._pages.get(page)
        if p is None:
            p = self._pages[page] = len(self._pages)
        self._engaged.append((hour << _NUMBER_BITS | s) << _NUMBER_BITS | p)
        self._engaged_ms.append(ms)
        self._scroll.append(scroll)

    def count_bot(self, hour: int) -> None:
        self._bots[hour] = self._bots.get(hour, 0) + 1

    @property
    def pending(self) -> int:
        """Page views counted in this batch."""
        return (
            self._counted + self._anonymous_counted + len(self._engaged) + sum(self._bots.values())
        )

    def take(self) -> Counted:
        """The batch so far; counting goes on in a new one."""
        counted = Counted(
            self._traits,
            list(self._pages),
            self._cells[: self._counted],
            self._visitors[: self._counted],
            self._anonymous[: self._anonymous_counted],
            self._bots,
            self._engaged,
            self._engaged_ms,
            self._scroll,
        )
        self._new_batch()
        return counted
