# C types for the compiled build of sources.py (see consentkit/compiled.py).

cimport cython

cdef class SourceReader:
    cpdef tuple origin(self, dict scope)

cpdef tuple origin_of(bytes query, bytes referer, bytes host)
