# cython: language_level=3, binding=False, boundscheck=False, wraparound=False
"""The returning visitor's page request, in the compiled build: a lane in CPython's C API.

Most requests of a site are a returning visitor's: the same cookies, browser and address
as the request before, a decision still in force, and a plan for the response
(``returning.py``). For those, this module does what ``ReturningPath.page`` and
``ReturningPath.respond`` do, in as little machine code as it takes: the request's headers
read as borrowed references and compared with ``memcmp``, the visitor found by its Cookie
header, the app called and the response's headers scanned without Python's call machinery
in between. Under a server, most of what a request costs the middleware is fetching the
code it runs from beyond the processor's caches (docs/performance.md): the fewer lines of
code a request runs, the less it costs.

Anything else takes the general way, ``ReturningPath.page`` and ``respond`` as compiled
from their Python source (the reference, and what runs where nothing was compiled): a
request under the middleware's prefix, a visitor not seen before or seen with other
headers, a decision to read anew, a visitor without a plan, a repeated header, a response
with a ``Vary`` or (where cookies are enforced) a ``Set-Cookie`` header of its own, any
value of a type the lane does not expect. The lane decides before it changes anything,
so the general way always starts from the request as it came. The page view is counted
by ``ReturningPath.count``, the same code for both.

Compiled only (``consentkit/compiled.py``: ``COMPILED_ONLY``); ``compiled.entry_class``
makes it ``ConsentMiddleware``'s base where the request path is compiled.
"""

cimport cython
from cpython.object cimport PyObject, PyTypeObject
from libc.math cimport INFINITY
from libc.stdint cimport uint64_t
from libc.string cimport memcmp, memcpy

cimport consentkit.clocks as clocks
from consentkit.returning cimport Entry as GeneralEntry, ReturningPath
from consentkit.visit.request cimport Known, VisitReader

from consentkit.analytics.tally cimport Tally
from consentkit.visit.pages cimport page_of
from consentkit.visit.sources cimport origin_of

import logging

from consentkit.frameworks import SITE_KEY as _site_key
from consentkit.analytics.cube import NUMBER_BITS as _number_bits
from consentkit.returning import NO_ORIGIN as _no_origin
from consentkit.returning import VARY_COOKIE as _vary_cookie

logger = logging.getLogger("consentkit")
cdef long long HOUR_SHIFT = 2 * _number_bits  # returning.py's (a packed cell's hour)
cdef long COUNT = 3  # returning.py's COUNT plan (a C constant of its build: not imported)
cdef tuple NO_ORIGIN = _no_origin
cdef object _count = COUNT
cdef PyObject* COUNT_OBJECT = <PyObject*>_count  # (the int 3: CPython keeps one)
cdef object _ok = 200
cdef PyObject* OK = <PyObject*>_ok  # the status 200, as above


cdef extern from *:
    """
    /* The lane's fallbacks and Cython's error exits marked cold: GCC then moves the code
       on their way out of the functions' hot part (into .text.unlikely), and a request
       on the lane runs through fewer lines of code. */
    #if defined(__GNUC__)
    #define CONSENTKIT_COLD __attribute__((cold, noinline))
    static void __Pyx_AddTraceback(const char *funcname, int c_line, int py_line,
                                   const char *filename) __attribute__((cold));
    #else
    #define CONSENTKIT_COLD
    #endif
    static CONSENTKIT_COLD void consentkit_cold(void) {
    #if defined(__GNUC__)
        __asm__ volatile("");  /* (a call kept: its being cold is the point) */
    #endif
    }
    #if defined(__GNUC__)
    #define consentkit_expect_not(x) __builtin_expect(!!(x), 0)
    #else
    #define consentkit_expect_not(x) (x)
    #endif
    #define consentkit_rarely(x) (consentkit_expect_not(x) ? (consentkit_cold(), 1) : 0)

    /* dict[key] or NULL, borrowed, errors swallowed (as PyDict_GetItem), without
       PyDict_GetItem's saving and restoring of the exception state around each lookup. */
    static CYTHON_INLINE PyObject* consentkit_dict_get(PyObject* d, PyObject* key) {
        PyObject* value = PyDict_GetItemWithError(d, key);
        if (consentkit_expect_not(value == NULL) && PyErr_Occurred()) {
            consentkit_cold();
            PyErr_Clear();
        }
        return value;
    }
    """
    bint likely(bint) noexcept nogil  # Cython's own macro (__builtin_expect)
    bint unlikely "consentkit_rarely" (bint) noexcept nogil  # and on a cold path
    PyObject* dict_get "consentkit_dict_get" (PyObject* d, PyObject* key) noexcept

    # CPython's layout of an int, as Cython's own conversions read it (its macros)
    ctypedef unsigned int digit
    bint long_is_negative "__Pyx_PyLong_IsNeg" (PyObject* o) noexcept
    const digit* long_digits "__Pyx_PyLong_Digits" (PyObject* o) noexcept
    Py_ssize_t long_digit_count "__Pyx_PyLong_DigitCount" (PyObject* o) noexcept
    const int PyLong_SHIFT
    unsigned long long PyLong_AsUnsignedLongLong(PyObject* o) except? -1


cdef extern from "Python.h":
    int PyDict_SetItem(PyObject* d, PyObject* key, PyObject* value) except -1
    int PyObject_SetItem(PyObject* o, PyObject* key, PyObject* value) except -1
    int PyObject_RichCompareBool(PyObject* a, PyObject* b, int op) except -1
    bint PyDict_CheckExact(PyObject* o)
    bint PyList_CheckExact(PyObject* o)
    bint PyTuple_CheckExact(PyObject* o)
    bint PyBytes_CheckExact(PyObject* o)
    bint PyUnicode_CheckExact(PyObject* o)
    bint PyLong_CheckExact(PyObject* o)
    long PyLong_AsLong(PyObject* o) except? -1
    Py_ssize_t PyList_GET_SIZE(PyObject* o)
    PyObject* PyList_GET_ITEM(PyObject* o, Py_ssize_t i)
    Py_ssize_t PyTuple_GET_SIZE(PyObject* o)
    PyObject* PyTuple_GET_ITEM(PyObject* o, Py_ssize_t i)
    Py_ssize_t PyBytes_GET_SIZE(PyObject* o)
    char* PyBytes_AS_STRING(PyObject* o)
    Py_ssize_t PyUnicode_GET_LENGTH(PyObject* o)
    bint PyUnicode_IS_COMPACT_ASCII(PyObject* o)
    void* PyUnicode_DATA(PyObject* o)
    object PyList_New(Py_ssize_t size)
    void PyList_SET_ITEM(object o, Py_ssize_t i, PyObject* item)
    object PyDict_New()
    void* PyMem_Calloc(size_t n, size_t size)
    void PyMem_Free(void* p)
    void Py_XDECREF(PyObject* o)
    object PyObject_Vectorcall(PyObject* callable, PyObject** args, size_t nargsf,
                               PyObject* kwnames)
    void Py_INCREF(PyObject* o)
    size_t PY_VECTORCALL_ARGUMENTS_OFFSET
    int Py_EQ
    PyObject* Py_None


# Module-level constants held as C pointers (the objects are kept alive by the module:
# the imported ones in its dict, the strings as its constants).
cdef PyObject* SITE_KEY = <PyObject*>_site_key
cdef PyObject* VARY_COOKIE = <PyObject*>_vary_cookie
cdef PyObject* STATUS = <PyObject*>"status"
cdef PyObject* METHOD = <PyObject*>"method"
cdef PyObject* TYPE = <PyObject*>"type"
cdef PyObject* HTTP = <PyObject*>"http"
cdef PyObject* PATH = <PyObject*>"path"
cdef PyObject* HEADERS = <PyObject*>"headers"
cdef PyObject* CLIENT = <PyObject*>"client"
cdef PyObject* STATE = <PyObject*>"state"
cdef PyObject* CONSENT = <PyObject*>"consent"
cdef PyObject* ROUTE = <PyObject*>"route"
cdef PyObject* ROOT_PATH = <PyObject*>"root_path"
cdef PyObject* start_seen = NULL  # the "http.response.start" a framework sends (its own)
cdef object NOT_TAKEN = object()

ctypedef object (*slot)(PyObject*, PyObject*, PyObject*)  # tp_call's, keywords NULL


cdef inline bint as_u64(PyObject* value, unsigned long long* out) noexcept:
    """Whether an int is below 2**64 and not negative (then in ``out``): read from its
    digits, where Cython's conversion calls ``PyLong_AsLong`` for an int of three digits
    (a cell, a visitor's ID), code a bare request does not run."""
    cdef const digit* d
    cdef Py_ssize_t n
    if unlikely(not PyLong_CheckExact(value) or long_is_negative(value)):
        return False
    if unlikely(PyLong_SHIFT != 30):
        return as_u64_slowly(value, out)
    d = long_digits(value)
    n = long_digit_count(value)
    if n == 3 and d[2] < 16:
        out[0] = (<unsigned long long>d[2] << 60) | (<unsigned long long>d[1] << 30) | d[0]
    elif n == 2:
        out[0] = (<unsigned long long>d[1] << 30) | d[0]
    elif n == 1:
        out[0] = d[0]
    elif n == 0:
        out[0] = 0
    else:
        return False
    return True


cdef bint as_u64_slowly(PyObject* value, unsigned long long* out) noexcept:
    """``as_u64`` where CPython's digits are not of 30 bits."""
    try:
        out[0] = PyLong_AsUnsignedLongLong(value)
    except OverflowError:
        return False
    return True


cdef inline bint is_ascii(PyObject* text, const char* ascii, Py_ssize_t size) noexcept:
    """Whether a str is the given ASCII text (a str of another kind is not)."""
    return (PyUnicode_CheckExact(text) and PyUnicode_IS_COMPACT_ASCII(text)
            and PyUnicode_GET_LENGTH(text) == size
            and memcmp(PyUnicode_DATA(text), ascii, size) == 0)


cdef inline bint is_bytes(PyObject* name, Py_ssize_t size, const char* text) noexcept:
    return memcmp(PyBytes_AS_STRING(name), text, size) == 0


cdef inline bint lower_is(PyObject* name, const char* lower, Py_ssize_t size) noexcept:
    """Whether bytes of ``size`` are ``lower`` in any case (ASCII letters, as bytes.lower)."""
    cdef const char* s = PyBytes_AS_STRING(name)
    cdef Py_ssize_t i
    cdef char c
    for i in range(size):
        c = s[i]
        if b'A' <= c <= b'Z':
            c = c + 32
        if c != lower[i]:
            return False
    return True


cdef inline bint keep(PyObject** slot, PyObject* value) noexcept:
    """Keeps the value of one of the visitor's headers; False when the header came before
    (a header of the visitor's sent twice goes the general way)."""
    if slot[0] != NULL:
        return False
    slot[0] = value
    return True


cdef inline bint same_bytes(object kept, PyObject* sent) noexcept:
    """Whether a value kept (bytes, or None) is the one sent (NULL: none sent)."""
    cdef PyObject* k = <PyObject*>kept
    if sent == NULL:
        return k == Py_None
    if k == sent:
        return True
    if k == Py_None:
        return False
    cdef Py_ssize_t size = PyBytes_GET_SIZE(k)
    return (size == PyBytes_GET_SIZE(sent)
            and memcmp(PyBytes_AS_STRING(k), PyBytes_AS_STRING(sent), size) == 0)


# The visitors the lane has found, by a hash of their Cookie header: a direct-mapped
# table in front of VisitReader's dict, whose lookup hashes the header with SipHash and
# compares it through bytes' own comparison, code a bare request does not run (about 25
# lines of code and data fetched from beyond the caches, per request). An entry is used
# only while its Known is still the reader's (not ``forgotten``); a header whose slot holds
# another's looks in the dict as before (colliding headers cost a lookup, nothing else).
cdef enum:
    SLOT_BITS = 10

ctypedef struct Slot:
    uint64_t hash
    PyObject* cookie  # the Cookie header (bytes) the visitor was found by, a reference
    PyObject* known  # its Known, a reference


cdef inline uint64_t header_hash(const char* s, Py_ssize_t size) noexcept:
    """A hash of a header's bytes, eight at a time (its top bits pick the slot)."""
    cdef uint64_t h = <uint64_t>size * 0x9E3779B97F4A7C15ULL
    cdef uint64_t word
    cdef Py_ssize_t i = 0
    while i + 8 <= size:
        memcpy(&word, s + i, 8)
        h = (h ^ word) * 0xFF51AFD7ED558CCDULL
        h ^= h >> 32
        i += 8
    if i < size:
        word = 0
        while i < size:  # (the rest a byte at a time: no call to memcpy)
            word = (word << 8) | <unsigned char>s[i]
            i += 1
        h = (h ^ word) * 0xFF51AFD7ED558CCDULL
    return h ^ (h >> 29)


cdef class Entry(GeneralEntry):
    """``ConsentMiddleware``'s base in the compiled build: the server's call for every
    request, the lane first for a page request over HTTP (see the module's docstring)."""

    cdef Slot* slots  # (1 << SLOT_BITS of them, made at the lane's first request)
    cdef object slots_reader  # the VisitReader they hold visitors of

    def __dealloc__(self):
        self.clear_slots()
        PyMem_Free(self.slots)

    cdef void clear_slots(self) noexcept:
        cdef Py_ssize_t i
        if self.slots != NULL:
            for i in range(1 << SLOT_BITS):
                Py_XDECREF(self.slots[i].cookie)
                Py_XDECREF(self.slots[i].known)
                self.slots[i].cookie = self.slots[i].known = NULL
                self.slots[i].hash = 0

    cdef Slot* slot_of(self, VisitReader reader, uint64_t hash) except NULL:
        """The slot for a Cookie header's hash (the slots emptied for another reader)."""
        if unlikely(self.slots == NULL):
            self.slots = <Slot*>PyMem_Calloc(1 << SLOT_BITS, sizeof(Slot))
            if self.slots == NULL:
                raise MemoryError()
        if unlikely(self.slots_reader is not reader):
            self.clear_slots()
            self.slots_reader = reader
        return &self.slots[hash >> (64 - SLOT_BITS)]

    def __call__(self, *args):
        cdef PyObject* scope
        cdef PyObject* kind
        cdef object result
        if likely(PyTuple_GET_SIZE(<PyObject*>args) == 3 and self.started
                  and self.returning is not None):
            scope = PyTuple_GET_ITEM(<PyObject*>args, 0)
            if likely(PyDict_CheckExact(scope)):
                kind = dict_get(scope, TYPE)
                if likely(kind == HTTP) or (kind != NULL and is_ascii(kind, "http", 4)):
                    result = lane(self, self.returning, scope, PyTuple_GET_ITEM(<PyObject*>args, 1),
                                  PyTuple_GET_ITEM(<PyObject*>args, 2))
                    if likely(result is not NOT_TAKEN):
                        return result
        return general_entry(self, args)


cdef object general_entry(Entry entry, tuple args):
    """The general way (``returning.Entry.__call__``, its C slot), for what the lane does
    not take."""
    cdef slot call = <slot>(<PyTypeObject*>GeneralEntry).tp_call
    return call(<PyObject*>entry, <PyObject*>args, NULL)


@cython.final
@cython.freelist(16)
cdef class LaneSend:
    """The ``send`` the app gets on the lane: the response start is scanned on its way
    out (``respond``), the rest passed on as it is."""

    cdef ReturningPath path
    cdef dict scope
    cdef Known known
    cdef object send
    cdef object referer  # bytes, or None
    cdef bytes host

    def __call__(self, *args):
        global start_seen
        cdef PyObject* message
        cdef PyObject* kind
        cdef PyObject* argv[2]
        if unlikely(PyTuple_GET_SIZE(<PyObject*>args) != 1):
            return self.send(*args)
        message = PyTuple_GET_ITEM(<PyObject*>args, 0)
        if likely(PyDict_CheckExact(message)):
            kind = dict_get(message, TYPE)
            if kind == start_seen or (kind != NULL and is_start(kind)):
                self.respond(message)
        argv[1] = message
        return PyObject_Vectorcall(<PyObject*>self.send, &argv[1],
                                   1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL)

    cdef int respond(self, PyObject* message) except -1:
        """What ``ReturningPath.respond`` does with a planned response, for the responses
        it takes: their own ``Vary`` or a ``Set-Cookie`` to enforce go the general way."""
        cdef PyObject* raw = dict_get(message, HEADERS)
        cdef PyObject* item
        cdef PyObject* name
        cdef PyObject* content_type = NULL
        cdef Py_ssize_t i, n, size
        cdef object headers
        if unlikely(raw == NULL or not PyList_CheckExact(raw)):
            return self.general(message)
        n = PyList_GET_SIZE(raw)
        for i in range(n):
            item = PyList_GET_ITEM(raw, i)
            if unlikely(not PyTuple_CheckExact(item) or PyTuple_GET_SIZE(item) != 2):
                return self.general(message)
            name = PyTuple_GET_ITEM(item, 0)
            if unlikely(not PyBytes_CheckExact(name)):
                return self.general(message)
            size = PyBytes_GET_SIZE(name)
            if size == 12:
                if (is_bytes(name, 12, "content-type") or is_bytes(name, 12, "Content-Type")
                        or lower_is(name, "content-type", 12)):
                    content_type = PyTuple_GET_ITEM(item, 1)
            elif size == 4:
                if unlikely(lower_is(name, "vary", 4)):
                    return self.general(message)
            elif size == 10:
                if unlikely(self.path.enforcing and lower_is(name, "set-cookie", 10)):
                    return self.general(message)
        if unlikely(content_type == NULL or not PyBytes_CheckExact(content_type)):
            if content_type != NULL:  # (not bytes: the general way says what it makes of it)
                return self.general(message)
            return 0
        size = PyBytes_GET_SIZE(content_type)
        if unlikely(size < 9 or not (is_bytes(content_type, 9, "text/html")
                                     or lower_is(content_type, "text/html", 9))):
            return 0  # not a page: nothing to add, nothing to count
        if likely(self.path.vary_cookie):
            # (a new list: the app's own may be sent again, by a response kept for reuse)
            headers = PyList_New(n + 1)
            for i in range(n):
                item = PyList_GET_ITEM(raw, i)
                Py_INCREF(item)
                PyList_SET_ITEM(headers, i, item)
            Py_INCREF(VARY_COOKIE)
            PyList_SET_ITEM(headers, n, VARY_COOKIE)
            PyDict_SetItem(message, HEADERS, <PyObject*>headers)
        if unlikely(counted(self, message) == -1):  # (counting never breaks the page)
            count_failed()
        return 0

    cdef int general(self, PyObject* message) except -1:
        """The general way with the response (``ReturningPath.respond``)."""
        self.path.respond(<dict>message, self.scope, self.known, self.referer, self.host)
        return 0

    cdef int general_count(self, PyObject* message) except -1:
        """The general way with the page view (``ReturningPath.count``)."""
        self.path.count(<dict>message, self.scope, self.known, self.referer, self.host)
        return 0


cdef int count_page(LaneSend self, PyObject* message) except -1:
    """What ``ReturningPath.count`` does with a page view counted in the same cell as
    the visitor's page view before (the same page, way in, hour and batch): most page
    views of a returning visitor. Any other goes the general way. (Called through
    ``counted``: an error is logged by ``count_failed``, not passed on.)"""
    cdef Known known = self.known
    cdef PyObject* plan = <PyObject*>known.plan
    cdef PyObject* last = <PyObject*>known.counted
    cdef PyObject* value
    cdef long long hour, cell
    cdef unsigned long long packed
    cdef Tally tally
    if unlikely(not PyTuple_CheckExact(plan) or PyTuple_GET_SIZE(plan) != 2
                or not is_long(PyTuple_GET_ITEM(plan, 0), COUNT_OBJECT, COUNT)
                or not known.until < INFINITY or not known.seen >= 0
                or not PyTuple_CheckExact(last) or PyTuple_GET_SIZE(last) != 4
                or not PyLong_CheckExact(PyTuple_GET_ITEM(last, 1))):
        return self.general_count(message)
    # A page view: a GET answered 2xx (is_page_view).
    value = dict_get(message, STATUS)
    if unlikely(value == NULL or not PyLong_CheckExact(value)):
        return self.general_count(message)
    if unlikely(value != OK and not 200 <= PyLong_AsLong(value) < 300):
        return 0
    value = dict_get(<PyObject*>self.scope, METHOD)
    if unlikely(value == NULL or not is_ascii(value, "GET", 3)):
        return self.general_count(message)
    # In the cell of the page view before: the same batch and hour, then the same page
    # and way in. (The hour as the general way's seen // 3600: seen is not negative.)
    tally = self.path.tally
    hour = <long long>(known.seen / 3600.0)
    if unlikely(not as_u64(PyTuple_GET_ITEM(last, 0), &packed) or packed >> 63):
        return self.general_count(message)
    cell = <long long>packed
    if unlikely(<Py_ssize_t><object>PyTuple_GET_ITEM(last, 1) != tally.batch
                or cell >> HOUR_SHIFT != hour):
        return self.general_count(message)
    if same(PyTuple_GET_ITEM(last, 2), lane_page(self.scope, self.path.page_option)) and same(
            PyTuple_GET_ITEM(last, 3),
            NO_ORIGIN if self.path.sources is None else origin_of(
                self.scope.get("query_string", b""), self.referer, self.host)):
        return count_cell(tally, cell, PyTuple_GET_ITEM(plan, 1))
    return self.general_count(message)


ctypedef int (*counting)(LaneSend, PyObject*) noexcept  # count_page's, errors unchecked


cdef inline int counted(LaneSend send, PyObject* message) noexcept:
    """``count_page(send, message)``: -1 with the error set where it failed (no try
    block, whose saving and restoring of the exception state would run on every page
    view)."""
    return (<counting>count_page)(send, message)


cdef void count_failed() noexcept:
    """Logs the error set by a page view that could not be counted, and clears it."""
    try:
        raise_set()
    except Exception:
        logger.exception("consentkit: a page view could not be counted")


cdef int raise_set() except -1:
    """Raises the error already set."""
    return -1


cdef inline bint is_long(PyObject* value, PyObject* small, long number) noexcept:
    """Whether an int is ``number``: told by identity where it is CPython's own small int
    (``small``), by value otherwise."""
    return value == small or (PyLong_CheckExact(value) and PyLong_AsLong(value) == number)


cdef inline int count_cell(Tally tally, long long cell, PyObject* visitor) except -1:
    """What ``Tally.count_cell`` does with a page view of a visitor with an ID, where the
    tally has room: the cell and the visitor written to its columns here (the rest, and
    a column to grow, by ``Tally.count_cell``)."""
    cdef Py_ssize_t n = tally._counted
    cdef unsigned long long number
    if likely(tally.room > 0 and as_u64(visitor, &number) and n < tally._cell_at.shape[0]):
        tally._visitor_at[n] = number
        tally._cell_at[n] = cell
        tally._counted = n + 1
        tally.room -= 1
    else:
        tally.count_cell(cell, <object>visitor)
    return 0


# The page of a route (``pages.page_of``, for a route with its own template and no mount),
# by the route object: a direct-mapped memo of 64, each holding its route (a reference, so
# that no other object takes its address) and the route's page.
cdef enum:
    MEMO_SIZE = 64

ctypedef struct RoutePage:
    PyObject* route
    PyObject* page

cdef RoutePage route_pages[MEMO_SIZE]


cdef object lane_page(dict scope, object option):
    """``pages.page_of(scope, option)``; a route's template kept by route where that is
    all the page depends on (no option, no mount: ``root_path`` empty)."""
    cdef PyObject* route
    cdef PyObject* root
    cdef RoutePage* memo
    if option is not None:
        return page_of(scope, option)
    route = dict_get(<PyObject*>scope, ROUTE)
    root = dict_get(<PyObject*>scope, ROOT_PATH)
    if unlikely(route == NULL or route == Py_None or not (
            root == NULL or (PyUnicode_CheckExact(root) and PyUnicode_GET_LENGTH(root) == 0))):
        return page_of(scope, None)
    memo = &route_pages[(<size_t>route >> 4) % MEMO_SIZE]
    if likely(memo.route == route):
        return <object>memo.page
    page = page_of(scope, None)
    if isinstance(getattr(<object>route, "path_format", None), str):  # Starlette's, FastAPI's
        Py_INCREF(route)
        Py_INCREF(<PyObject*>page)
        Py_XDECREF(memo.route)
        Py_XDECREF(memo.page)
        memo.route, memo.page = route, <PyObject*>page
    return page


cdef inline bint is_start(PyObject* kind) noexcept:
    """Whether a message's type is ``http.response.start``: told by identity once seen (a
    framework sends the same constant each time: kept, one reference per string seen)."""
    global start_seen
    if is_ascii(kind, "http.response.start", 19):
        if kind != start_seen:
            Py_INCREF(kind)
            start_seen = kind
        return True
    return False


cdef inline bint same(PyObject* kept, object now) except -1:
    """Whether a value kept is the one worked out now (the same object, most often)."""
    return kept == <PyObject*>now or PyObject_RichCompareBool(kept, <PyObject*>now, Py_EQ)


cdef object lane(Entry entry, ReturningPath path, PyObject* scope, PyObject* receive,
                 PyObject* send):
    """A page request of a returning visitor with a plan: the app's awaitable, its ``send``
    a ``LaneSend``; ``NOT_TAKEN`` for any other request (nothing changed)."""
    cdef PyObject* value
    cdef PyObject* item
    cdef PyObject* name
    cdef PyObject* headers
    cdef PyObject* cookie = NULL
    cdef PyObject* agent = NULL
    cdef PyObject* forwarded = NULL
    cdef PyObject* gpc = NULL
    cdef PyObject* country = NULL
    cdef PyObject* referer = NULL
    cdef PyObject* host = NULL
    cdef PyObject* peer = Py_None
    cdef PyObject* client
    cdef PyObject* state
    cdef PyObject* found
    cdef PyObject* argv[4]
    cdef Slot* slot
    cdef uint64_t hash
    cdef Py_ssize_t i, n, size
    cdef bint kept
    cdef double now
    cdef Known known
    cdef LaneSend planned
    cdef VisitReader reader = path.reader
    cdef Py_ssize_t country_size = reader.country_size
    cdef const char* country_name = NULL
    # The path: the middleware's own endpoints go the general way.
    value = dict_get(scope, PATH)
    if unlikely(value == NULL or not PyUnicode_CheckExact(value)
                or not PyUnicode_IS_COMPACT_ASCII(value)
                or not PyUnicode_IS_COMPACT_ASCII(<PyObject*>path.prefix)):
        return NOT_TAKEN
    size = PyUnicode_GET_LENGTH(<PyObject*>path.prefix)
    if unlikely(PyUnicode_GET_LENGTH(value) >= size and memcmp(
            PyUnicode_DATA(value), PyUnicode_DATA(<PyObject*>path.prefix), size) == 0):
        return NOT_TAKEN
    # The visitor's headers and the request's Referer and Host, as VisitReader.known_of
    # reads them; a visitor's header sent twice goes the general way.
    headers = dict_get(scope, HEADERS)
    if unlikely(headers == NULL or not PyList_CheckExact(headers)):
        return NOT_TAKEN
    if reader.country_header is not None:
        country_name = PyBytes_AS_STRING(<PyObject*>reader.country_header)
    n = PyList_GET_SIZE(headers)
    for i in range(n):
        item = PyList_GET_ITEM(headers, i)
        if unlikely(not PyTuple_CheckExact(item) or PyTuple_GET_SIZE(item) != 2):
            return NOT_TAKEN
        name = PyTuple_GET_ITEM(item, 0)
        value = PyTuple_GET_ITEM(item, 1)
        if unlikely(not PyBytes_CheckExact(name) or not PyBytes_CheckExact(value)):
            return NOT_TAKEN
        size = PyBytes_GET_SIZE(name)
        kept = True
        if size == 6 and is_bytes(name, 6, "cookie"):
            kept = keep(&cookie, value)
        elif size == 10 and is_bytes(name, 10, "user-agent"):
            kept = keep(&agent, value)
        elif size == 15 and is_bytes(name, 15, "x-forwarded-for"):
            kept = keep(&forwarded, value)
        elif size == 7 and is_bytes(name, 7, "sec-gpc"):
            kept = keep(&gpc, value)
        elif size == country_size and is_bytes(name, size, country_name):
            kept = keep(&country, value)
        elif size == 7 and referer == NULL and is_bytes(name, 7, "referer"):
            referer = value
        elif size == 4 and host == NULL and is_bytes(name, 4, "host"):
            host = value
        if unlikely(not kept):
            return NOT_TAKEN
    if unlikely(cookie == NULL):
        return NOT_TAKEN
    client = dict_get(scope, CLIENT)
    if client != NULL and client != Py_None:
        if unlikely(not PyTuple_CheckExact(client) or PyTuple_GET_SIZE(client) < 1):
            return NOT_TAKEN
        peer = PyTuple_GET_ITEM(client, 0)
    # The visitor, by its Cookie header: the same browser, address and signals, or the
    # general way (which reads it anew).
    size = PyBytes_GET_SIZE(cookie)
    hash = header_hash(PyBytes_AS_STRING(cookie), size)
    slot = entry.slot_of(reader, hash)
    found = slot.known
    if unlikely(not (found != NULL and slot.hash == hash and not (<Known>found).forgotten
                     and PyBytes_GET_SIZE(slot.cookie) == size
                     and memcmp(PyBytes_AS_STRING(slot.cookie), PyBytes_AS_STRING(cookie),
                                size) == 0)):
        found = dict_get(<PyObject*>reader._known, cookie)
        if unlikely(found == NULL):
            return NOT_TAKEN
        Py_INCREF(cookie)
        Py_INCREF(found)
        Py_XDECREF(slot.cookie)
        Py_XDECREF(slot.known)
        slot.cookie, slot.known, slot.hash = cookie, found, hash
    known = <Known>found
    if unlikely(not (same_bytes(known.agent, agent) and same_bytes(known.forwarded, forwarded)
                     and same_bytes(known.gpc_sent, gpc)
                     and same_bytes(known.country_sent, country))):
        return NOT_TAKEN
    if unlikely(<PyObject*>known.peer != peer and not PyObject_RichCompareBool(
            <PyObject*>known.peer, peer, Py_EQ)):
        return NOT_TAKEN
    if unlikely(known.plan is None):
        return NOT_TAKEN
    if known.until != INFINITY:
        now = clocks.wall() if reader.system_clock else reader.clock()
        if unlikely(known.until <= now):
            return NOT_TAKEN  # a decision to read anew
        known.seen = now
    # Taken: the consent on the scope, and the app called with the lane's send.
    state = dict_get(scope, STATE)
    if state == NULL or state == Py_None:
        fresh = PyDict_New()
        PyDict_SetItem(scope, STATE, <PyObject*>fresh)
        state = <PyObject*>fresh
    if PyDict_CheckExact(state):
        PyDict_SetItem(state, CONSENT, <PyObject*>known.consent)
    else:
        PyObject_SetItem(state, CONSENT, <PyObject*>known.consent)
    PyDict_SetItem(scope, SITE_KEY, <PyObject*>path.links)
    planned = LaneSend.__new__(LaneSend)
    planned.path = path
    planned.scope = <dict>scope
    planned.known = known
    planned.send = <object>send
    planned.referer = None if referer == NULL else <object>referer
    planned.host = b"" if host == NULL else <bytes>host
    argv[1] = scope
    argv[2] = receive
    argv[3] = <PyObject*>planned
    return PyObject_Vectorcall(<PyObject*>path.app, &argv[1],
                               3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL)
