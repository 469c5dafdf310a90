# The compiled build's clock (see clocks.py): time.time() from C, no Python call.

from cpython.time cimport PyTime_AsSecondsDouble, PyTime_TimeRaw


cdef extern from *:
    """
    /* time.time() as CPython reads it where clock_gettime is there (its _PyTime_GetSystemClock:
       CLOCK_REALTIME, the nanoseconds made a double as _PyTime_AsSecondsDouble makes them),
       without CPython's two functions in between: code a bare request does not run, whose
       lines a request under a server fetches from beyond the caches (docs/performance.md).
       -1 where there is no such clock, or it fails: CPython's own functions then. */
    #if defined(__linux__) || defined(__APPLE__) || defined(__FreeBSD__)
    #include <time.h>
    #endif
    static CYTHON_INLINE double consentkit_realtime(void) {
    #if (defined(__linux__) || defined(__APPLE__) || defined(__FreeBSD__)) && defined(CLOCK_REALTIME)
        struct timespec ts;
        long long ns;
        if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
            return -1.0;
        ns = (long long)ts.tv_sec * 1000000000LL + (long long)ts.tv_nsec;
        if (ns % 1000000000LL == 0)
            return (double)(ns / 1000000000LL);
        return (double)ns / 1e9;
    #else
        return -1.0;
    #endif
    }
    """
    double realtime "consentkit_realtime" () noexcept nogil


cdef inline double wall() noexcept:
    cdef double now = realtime()
    if now >= 0:
        return now
    return PyTime_AsSecondsDouble(PyTime_TimeRaw())
