# C types for the compiled build of mmdb.py (see consentkit/compiled.py).

cimport cython

cdef class SearchTree:
    cdef public Py_ssize_t nodes, record_size, node_size, ip_version, ipv4_start
    cdef object _map
    cdef const unsigned char[:] _tree
    @cython.locals(tree="const unsigned char[:]", offset=Py_ssize_t, middle=Py_ssize_t,
                   high=Py_ssize_t)
    cdef Py_ssize_t _child(self, Py_ssize_t node, int bit) except -1
    @cython.locals(nodes=Py_ssize_t, size=Py_ssize_t, node=Py_ssize_t, i=Py_ssize_t,
                   bits=Py_ssize_t, byte=int)
    cpdef Py_ssize_t record_of(self, bytes packed) except -1
