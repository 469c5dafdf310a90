# C types for the compiled build of request.py (see consentkit/compiled.py).

cdef class Known:
    cdef public object consent, decision_cookie, headers, id_cookie, is_bot, plan, segment, visitor
    cdef public bint gpc, quiet
    cdef public double until

cdef class VisitReader:
    cdef public object codec, clock, country_header
    cdef public frozenset page_headers, endpoint_headers
    cdef public Py_ssize_t remembered
    cdef public dict _known
    cpdef Known known_of(self, object scope)
