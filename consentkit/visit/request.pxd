# C types for the compiled build of request.py (see consentkit/compiled.py).

cimport cython

cimport consentkit.clocks as clocks

cdef double NEVER

cdef class Known:
    cdef public object consent, decision_cookie, headers, id_cookie, is_bot, plan, segment, visitor
    cdef public tuple counted
    cdef public bint gpc, quiet, forgotten
    cdef public double until, seen
    cdef public object peer
    cdef public bytes agent, forwarded, gpc_sent, country_sent

cdef class VisitReader:
    cdef public object codec, clock, country_header
    cdef public bint system_clock
    cdef public Py_ssize_t country_size
    cdef public frozenset page_headers, endpoint_headers
    cdef public Py_ssize_t remembered
    cdef public dict _known
    cdef public bytes referer, host
    @cython.locals(name=bytes, value=bytes, country=bytes, size=Py_ssize_t,
                   country_size=Py_ssize_t, cookie=bytes, agent=bytes, forwarded=bytes,
                   gpc=bytes, country_value=bytes, referer=bytes, host=bytes, more=list,
                   found=Known, replaced=Known, forgotten=Known, until=double,
                   now=double)
    cpdef Known known_of(self, dict scope)
