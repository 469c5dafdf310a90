# C types for the compiled build of pages.py (see consentkit/compiled.py).

cimport cython

cdef Py_ssize_t MAX_PAGE

@cython.locals(page=str, root=str, mount=str)
cpdef str page_of(dict scope, object option=*)
