# C types for the compiled build of returning.py (see consentkit/compiled.py).

from consentkit.analytics.tally cimport Tally
from consentkit.visit.request cimport Known

cdef class ReturningPath:
    cdef public Tally tally
    cdef public object clock, origin_of, page, hook
    cdef public bint vary_cookie, enforcing
    cpdef void respond(self, object message, object scope, Known known) except *
