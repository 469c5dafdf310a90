# C types for the compiled build of returning.py (see consentkit/compiled.py).

cimport cython

cimport consentkit.clocks as clocks

from consentkit.analytics.tally cimport Tally
from consentkit.visit.pages cimport page_of
from consentkit.visit.request cimport Known, VisitReader
from consentkit.visit.sources cimport SourceReader, origin_of

cdef long long HOUR_SHIFT
cdef int VARY_ONLY, BOT, COUNT, _OTHER, _CONTENT_TYPE, _VARY
cdef tuple _VARY_COOKIE
cdef list _VARY_LIST
cdef double NEVER

cpdef int header_kind(bytes name) except -2
cpdef bint is_html(bytes content_type) except -1
cdef object _start
cpdef bint is_response_start(object kind) except -1
@cython.locals(status=int)
cpdef bint is_page_view(dict message, dict scope) except -1

cdef class PlannedSend

cdef class ReturningPath:
    cdef public object app, links
    cdef public VisitReader reader
    cdef public Tally tally
    cdef public object clock, page_option, hook
    cdef public SourceReader sources
    cdef public bint vary_cookie, enforcing, system_clock
    cdef public str prefix
    cdef public object endpoints
    @cython.locals(kind=int, name=bytes)
    cpdef void respond(self, dict message, dict scope, Known known, bytes referer,
                       bytes host) except *
    @cython.locals(now=double, hour="long long", tally=Tally, plan=tuple, what=int,
                   last=tuple, cell="long long", batch=Py_ssize_t, page=str,
                   page_before=str, origin=tuple, origin_before=tuple)
    cpdef void count(self, dict message, dict scope, Known known, bytes referer,
                     bytes host) except *
    @cython.locals(path=str, planned=PlannedSend, reader=VisitReader)
    cpdef object page(self, dict scope, object receive, object send)

cdef class Entry:
    cdef public bint started
    cdef public ReturningPath returning

cdef class HookedSend:
    cdef object hook, send
    cdef object visit

cdef class PlannedSend:
    cdef ReturningPath path
    cdef dict scope
    cdef object send
    cdef Known known
    cdef bytes referer, host
