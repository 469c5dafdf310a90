# C types for the compiled build of sources.py (see consentkit/compiled.py).

cdef class SourceReader:
    cpdef tuple origin(self, object scope)
