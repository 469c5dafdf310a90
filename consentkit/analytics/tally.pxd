# C types for the compiled build of tally.py (see consentkit/compiled.py).

cimport cython

cdef int _HOUR_BITS, _NUMBER_BITS

cdef class Tally:
    cdef public Py_ssize_t dropped, room, batch
    cdef public list _traits
    cdef public dict _segments, _landings, _goals, _pages, _bots
    cdef public object _cells, _visitors, _anonymous, _engaged, _engaged_ms, _scroll
    cdef Py_ssize_t _counted, _anonymous_counted
    cdef long long[::1] _cell_at, _anonymous_at
    cdef unsigned long long[::1] _visitor_at
    @cython.locals(table=dict, s=Py_ssize_t, p=Py_ssize_t, cell="long long")
    cpdef long long count(self, long long hour, tuple segment, str page, object visitor,
                          tuple origin=*, str event=*) except? -2
    cpdef void count_cell(self, long long cell, object visitor) except *
    @cython.locals(n=Py_ssize_t)
    cdef void _add(self, long long cell, object visitor) except *
    cpdef void engage(self, object hour, tuple segment, str page, object ms, object scroll) except *
    cpdef void count_bot(self, object hour) except *
