# C types for the compiled build of sources.py (see consentkit/compiled.py).

cimport cython

cdef class SourceReader:
    @cython.locals(name=bytes, query=bytes)
    cpdef tuple origin(self, dict scope)
