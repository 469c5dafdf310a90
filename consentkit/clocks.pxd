# The compiled build's clock (see clocks.py): time.time() from C, no Python call.

from cpython.time cimport PyTime_AsSecondsDouble, PyTime_TimeRaw


cdef inline double wall() noexcept:
    return PyTime_AsSecondsDouble(PyTime_TimeRaw())
