# C types for the compiled build of pages.py (see consentkit/compiled.py).

cpdef str page_of(dict scope, object option=*)
