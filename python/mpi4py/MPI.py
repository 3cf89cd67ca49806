"""mpisim's mpi4py: ``from mpi4py import MPI`` for a script that mpisim runs.

Every MPI call is forwarded, with the caller's file:line, to this rank's proxy in
mpisim's engine, which makes it through the engine's own communicator: matching,
collectives' algorithms and the cost model are the engine's. The lowercase methods send
pickles (the message is the pickle), the uppercase ones the bytes of a buffer (a numpy
array, bytearray or array.array; `[buf, MPI.INT]`, `[buf, count, displ, MPI.DOUBLE]`).
A reduction of Python objects applies the operator here, in this rank's process, when
the engine asks for it. Anything mpisim does not implement raises NotImplementedError
naming the call.
"""

import struct as _struct

from . import _mpisim

_conn = _mpisim.connect()
_dumps = _mpisim.dumps

ANY_SOURCE = -1
ANY_TAG = -1
PROC_NULL = -2
ROOT = -3
UNDEFINED = -32766
SUCCESS = 0
ERR_OTHER = 16
TAG_UB = 2**31 - 1
THREAD_SINGLE, THREAD_FUNNELED, THREAD_SERIALIZED, THREAD_MULTIPLE = 0, 1, 2, 3
IDENT, CONGRUENT, SIMILAR, UNEQUAL = 0, 1, 2, 3


# A part of mpi4py that mpisim does not implement: a NotImplementedError (by that name in
# reports), and an AttributeError too, so that hasattr() answers False.
_Unsupported = type("NotImplementedError", (NotImplementedError, AttributeError), {"__module__": "mpi4py.MPI"})


def _missing(what):
    return _Unsupported(
        f"{what} is not implemented by mpisim's mpi4py (it covers point-to-point, requests, "
        "collectives, Split and Dup); run the script on a real MPI with --real"
    )


def __getattr__(name):
    global COMM_SELF
    if name == "COMM_SELF":
        # Made on first use: a communicator is a call of the engine.
        reply, _ = _conn.call("self_comm", {})
        COMM_SELF = Intracomm(reply["comm"], reply["rank"], reply["size"], "MPI_COMM_SELF")
        return COMM_SELF
    raise _missing(f"MPI.{name}")


class Exception(RuntimeError):
    """MPI.Exception: mpisim reports MPI errors as rank failures, so it is never raised."""

    def __init__(self, ierr=ERR_OTHER):
        super().__init__(ierr)
        self.error_code = ierr

    def Get_error_code(self):
        return self.error_code


class _Unimplemented:
    """Methods a class does not have name themselves in NotImplementedError."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise _missing(f"{type(self).__name__}.{name}")


class _InPlace:
    def __repr__(self):
        return "IN_PLACE"


IN_PLACE = _InPlace()
BOTTOM = None


# -- datatypes --------------------------------------------------------------------------

class Datatype(_Unimplemented):
    """An MPI datatype: a name, a size, and the element code reductions use."""

    def __init__(self, name, size, code):
        self.name, self.size, self.code = name, size, code

    def Get_size(self):
        return self.size

    def Get_extent(self):
        return (0, self.size)

    @property
    def extent(self):
        return self.size

    @property
    def lb(self):
        return 0

    @property
    def ub(self):
        return self.size

    def Get_name(self):
        return self.name

    def Commit(self):
        return self

    def Free(self):
        pass

    def __repr__(self):
        return f"<mpi4py.MPI.Datatype {self.name}>"


def _dt(name, size, code):
    return Datatype(name, size, code)


DATATYPE_NULL = _dt("MPI_DATATYPE_NULL", 0, None)
BYTE = _dt("MPI_BYTE", 1, "u1")
PACKED = _dt("MPI_PACKED", 1, "u1")
CHAR = _dt("MPI_CHAR", 1, "i1")
SIGNED_CHAR = _dt("MPI_SIGNED_CHAR", 1, "i1")
UNSIGNED_CHAR = _dt("MPI_UNSIGNED_CHAR", 1, "u1")
SHORT = _dt("MPI_SHORT", 2, "i2")
UNSIGNED_SHORT = _dt("MPI_UNSIGNED_SHORT", 2, "u2")
INT = _dt("MPI_INT", 4, "i4")
UNSIGNED = _dt("MPI_UNSIGNED", 4, "u4")
UNSIGNED_INT = UNSIGNED
LONG = _dt("MPI_LONG", 8, "i8")
UNSIGNED_LONG = _dt("MPI_UNSIGNED_LONG", 8, "u8")
LONG_LONG = _dt("MPI_LONG_LONG", 8, "i8")
UNSIGNED_LONG_LONG = _dt("MPI_UNSIGNED_LONG_LONG", 8, "u8")
FLOAT = _dt("MPI_FLOAT", 4, "f4")
DOUBLE = _dt("MPI_DOUBLE", 8, "f8")
C_BOOL = _dt("MPI_C_BOOL", 1, "b1")
BOOL = C_BOOL
INT8_T = _dt("MPI_INT8_T", 1, "i1")
INT16_T = _dt("MPI_INT16_T", 2, "i2")
INT32_T = _dt("MPI_INT32_T", 4, "i4")
INT64_T = _dt("MPI_INT64_T", 8, "i8")
UINT8_T = _dt("MPI_UINT8_T", 1, "u1")
UINT16_T = _dt("MPI_UINT16_T", 2, "u2")
UINT32_T = _dt("MPI_UINT32_T", 4, "u4")
UINT64_T = _dt("MPI_UINT64_T", 8, "u8")
AINT = _dt("MPI_AINT", 8, "i8")
OFFSET = _dt("MPI_OFFSET", 8, "i8")
COUNT = _dt("MPI_COUNT", 8, "i8")
# Pairs for MAXLOC/MINLOC on buffers: their size is right for sends; reductions of them
# are not implemented (use the lowercase methods on (value, index) tuples).
FLOAT_INT = _dt("MPI_FLOAT_INT", 8, None)
DOUBLE_INT = _dt("MPI_DOUBLE_INT", 16, None)
LONG_INT = _dt("MPI_LONG_INT", 16, None)
SHORT_INT = _dt("MPI_SHORT_INT", 8, None)
TWOINT = _dt("MPI_2INT", 8, None)
INT_INT = TWOINT

# The datatype of a buffer's elements, by struct format character (numpy arrays,
# array.array and bytes-like objects say which through the buffer protocol).
_typedict = {
    "?": C_BOOL, "c": CHAR, "b": SIGNED_CHAR, "B": UNSIGNED_CHAR,
    "h": SHORT, "H": UNSIGNED_SHORT, "i": INT, "I": UNSIGNED,
    "l": LONG if _struct.calcsize("l") == 8 else INT,
    "L": UNSIGNED_LONG if _struct.calcsize("L") == 8 else UNSIGNED,
    "q": LONG_LONG, "Q": UNSIGNED_LONG_LONG, "f": FLOAT, "d": DOUBLE,
}
_typedict_c = {}
_typedict_f = {}
_typecodes = {"i1": SIGNED_CHAR, "u1": UNSIGNED_CHAR, "i2": SHORT, "u2": UNSIGNED_SHORT, "i4": INT,
              "u4": UNSIGNED, "i8": LONG, "u8": UNSIGNED_LONG, "f4": FLOAT, "f8": DOUBLE, "b1": C_BOOL}


def _datatype(spec):
    if isinstance(spec, Datatype):
        return spec
    if isinstance(spec, str) and spec in _typedict:
        return _typedict[spec]
    raise TypeError(f"expected an MPI datatype (MPI.INT, MPI.DOUBLE, …), got {spec!r}")


# -- buffers ------------------------------------------------------------------------------

def _bytes_view(buf, what):
    try:
        view = memoryview(buf)
    except TypeError:
        raise TypeError(
            f"{what}: expected a buffer (a numpy array, bytearray, array.array), got {type(buf).__name__}; "
            "the lowercase methods send any Python object"
        ) from None
    if not view.c_contiguous:
        raise ValueError(f"{what}: the buffer is not contiguous; pass a contiguous array (numpy.ascontiguousarray)")
    fmt = view.format.lstrip("@=")
    if fmt.startswith(("<", ">", "!")):
        little = _struct.pack("=H", 1) == b"\x01\x00"
        if fmt[0] == "<" and little:
            fmt = fmt[1:]
        else:
            raise ValueError(f"{what}: a buffer of non-native byte order ({view.format}) is not supported")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view, _typedict.get(fmt)


class _Msg:
    """A buffer specification resolved: bytes [offset, offset + count·size) of a buffer."""

    __slots__ = ("view", "offset", "count", "dt")

    def __init__(self, view, offset, count, dt):
        self.view, self.offset, self.count, self.dt = view, offset, count, dt

    @property
    def nbytes(self):
        return self.count * self.dt.size

    def data(self):
        return self.view[self.offset:self.offset + self.nbytes]

    def fill(self, data, at=0):
        n = len(data)
        start = self.offset + at
        self.view[start:start + n] = data


def _auto_type(view_dt, what):
    if view_dt is None:
        raise TypeError(f"{what}: the buffer's element type has no MPI datatype; name one: [buf, MPI.DOUBLE]")
    return view_dt


def _message(spec, what):
    """[buf], [buf, datatype], [buf, count, datatype], [buf, (count, displ), datatype],
    [buf, count, displ, datatype], or a bare buffer."""
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise ValueError(f"{what}: an empty buffer specification")
        buf, rest = spec[0], list(spec[1:])
    else:
        buf, rest = spec, []
    view, view_dt = _bytes_view(buf, what)
    dt = count = None
    displ = 0
    if rest and (isinstance(rest[-1], Datatype) or isinstance(rest[-1], str)):
        dt = _datatype(rest.pop())
    if len(rest) == 1:
        if isinstance(rest[0], (list, tuple)):
            count, displ = rest[0]
        else:
            count = rest[0]
    elif len(rest) == 2:
        count, displ = rest
    elif rest:
        raise ValueError(f"{what}: cannot read the buffer specification {spec!r}")
    dt = dt or _auto_type(view_dt, what)
    offset = int(displ) * dt.size
    if count is None:
        count = (len(view) - offset) // dt.size
    count = int(count)
    if offset + count * dt.size > len(view):
        raise ValueError(
            f"{what}: {count} elements of {dt.name} at displacement {displ} do not fit the buffer of {len(view)} bytes"
        )
    return _Msg(view, offset, count, dt)


def _vmessage(spec, size, what):
    """[buf, counts, displs, datatype], [buf, (counts, displs), datatype],
    [buf, counts, datatype], [buf, counts]: counts and displacements in elements."""
    if not isinstance(spec, (list, tuple)):
        view, view_dt = _bytes_view(spec, what)
        dt = _auto_type(view_dt, what)
        n = len(view) // dt.size
        if n % size:
            raise ValueError(f"{what}: {n} elements do not split into {size} equal blocks; give counts")
        counts = [n // size] * size
        displs = None
        buf = spec
    else:
        buf, rest = spec[0], list(spec[1:])
        view, view_dt = _bytes_view(buf, what)
        dt = None
        if rest and isinstance(rest[-1], (Datatype, str)):
            dt = _datatype(rest.pop())
        dt = dt or _auto_type(view_dt, what)
        if len(rest) == 1 and isinstance(rest[0], tuple) and len(rest[0]) == 2 and not isinstance(rest[0][0], int):
            counts, displs = rest[0]
        elif len(rest) == 1:
            counts, displs = rest[0], None
        elif len(rest) == 2:
            counts, displs = rest
        else:
            raise ValueError(f"{what}: cannot read the buffer specification {spec!r}")
        if isinstance(counts, int):
            counts = [counts] * size
        counts = [int(c) for c in counts]
    if displs is None:
        displs, at = [], 0
        for c in counts:
            displs.append(at)
            at += c
    displs = [int(d) for d in displs]
    if len(counts) != size or len(displs) != size:
        raise ValueError(f"{what}: give one count and one displacement per rank ({size})")
    for c, d in zip(counts, displs):
        if (d + c) * dt.size > len(view):
            raise ValueError(f"{what}: a block of {c} elements at displacement {d} does not fit the buffer")
    return view, counts, displs, dt


# -- operators ------------------------------------------------------------------------------

def _op_max(x, y):
    return y if y > x else x


def _op_min(x, y):
    return y if y < x else x


def _op_maxloc(x, y):
    (u, i), (v, j) = x, y
    if u > v:
        return u, i
    if v > u:
        return v, j
    return (v, j) if j < i else (u, i)


def _op_minloc(x, y):
    (u, i), (v, j) = x, y
    if u < v:
        return u, i
    if v < u:
        return v, j
    return (v, j) if j < i else (u, i)


class Op(_Unimplemented):
    """A reduction operator. On Python objects (the lowercase methods) it applies Python's
    operators, as mpi4py does (SUM of lists concatenates them); on buffers the engine
    applies MPI's operator to each element."""

    def __init__(self, name, function, commute=True):
        self.name, self.function, self.commute = name, function, commute

    def __call__(self, x, y):
        return self.function(x, y)

    def Is_commutative(self):
        return self.commute

    @property
    def is_commutative(self):
        return self.commute

    @classmethod
    def Create(cls, function, commute=False):
        raise _missing("MPI.Op.Create (a user operator on buffers); pass a Python function as op of the "
                       "lowercase reduce/allreduce instead")

    def Free(self):
        pass

    def __repr__(self):
        return f"<mpi4py.MPI.Op {self.name}>"


OP_NULL = Op("MPI_OP_NULL", None)
SUM = Op("MPI_SUM", lambda x, y: x + y)
PROD = Op("MPI_PROD", lambda x, y: x * y)
MAX = Op("MPI_MAX", _op_max)
MIN = Op("MPI_MIN", _op_min)
LAND = Op("MPI_LAND", lambda x, y: bool(x) and bool(y))
LOR = Op("MPI_LOR", lambda x, y: bool(x) or bool(y))
LXOR = Op("MPI_LXOR", lambda x, y: bool(x) ^ bool(y))
BAND = Op("MPI_BAND", lambda x, y: x & y)
BOR = Op("MPI_BOR", lambda x, y: x | y)
BXOR = Op("MPI_BXOR", lambda x, y: x ^ y)
MAXLOC = Op("MPI_MAXLOC", _op_maxloc)
MINLOC = Op("MPI_MINLOC", _op_minloc)
REPLACE = Op("MPI_REPLACE", lambda x, y: y, commute=False)
NO_OP = Op("MPI_NO_OP", lambda x, y: x, commute=False)


def _object_op(op):
    """The operator of a lowercase reduction: an MPI.Op or any function f(a, b)."""
    if isinstance(op, Op):
        if op.function is None:
            raise ValueError("MPI.OP_NULL is not an operator")
        return op.function, op.name, op.commute
    if callable(op):
        return op, getattr(op, "__name__", "user op"), False
    raise TypeError(f"op must be an MPI.Op or a function of two values, got {op!r}")


def _buffer_op(op, what):
    if not isinstance(op, Op) or op.function is None:
        raise _missing(f"{what} with a user operator (only MPI's predefined operators on buffers)")
    return op.name


# -- status and requests ----------------------------------------------------------------------

class Status(_Unimplemented):
    """What a receive or probe found: source, tag, and the size in bytes."""

    def __init__(self, status=None):
        self.source, self.tag, self.count, self.cancelled, self.error = ANY_SOURCE, ANY_TAG, 0, False, SUCCESS
        if isinstance(status, Status):
            self.source, self.tag, self.count, self.cancelled = status.source, status.tag, status.count, status.cancelled

    def _set(self, fields):
        self.source, self.tag, self.count, self.cancelled = fields[0], fields[1], fields[2], bool(fields[3])

    def Get_source(self):
        return self.source

    def Get_tag(self):
        return self.tag

    def Get_error(self):
        return self.error

    def Get_count(self, datatype=BYTE):
        size = _datatype(datatype).size
        return self.count // size if size and self.count % size == 0 else UNDEFINED

    def Get_elements(self, datatype):
        return self.Get_count(datatype)

    def Is_cancelled(self):
        return self.cancelled

    def Set_source(self, source):
        self.source = source

    def Set_tag(self, tag):
        self.tag = tag

    def __repr__(self):
        return f"<mpi4py.MPI.Status source={self.source} tag={self.tag} count={self.count}>"


def _fill(status, fields):
    if status is not None:
        status._set(fields)


# What a request carries out when it completes.
_SEND, _RECV_OBJ, _RECV_BUF = 0, 1, 2


class Request(_Unimplemented):
    """A nonblocking operation. `wait()` returns the received object (lowercase irecv)."""

    def __init__(self, rid=None, kind=_SEND, msg=None, what="request"):
        self._id, self._kind, self._msg, self._what = rid, kind, msg, what
        self._value = None

    def __bool__(self):
        return self._id is not None

    def __eq__(self, other):
        return isinstance(other, Request) and self._id == other._id

    def __hash__(self):
        return hash(self._id)

    _persistent = False

    def _settle(self, entry, blob, status):
        _fill(status, entry[1:5])
        if self._kind == _RECV_OBJ and blob is not None:
            self._value = _load(blob)
        elif self._kind == _RECV_BUF and blob is not None:
            self._msg.fill(blob)
        if not self._persistent:
            self._id = None
        value, self._value = self._value, None
        return value

    # The engine's wait and test calls, on one request or many.
    @staticmethod
    def _complete(requests, how, block, one=False, statuses=None):
        requests = list(requests)
        reply, blobs = _conn.call(
            "wait", {"r": [r._id for r in requests], "how": how, "block": block, "one": one}
        )
        done = reply["done"]
        if done is None:
            return None
        values = [None] * len(requests)
        blob_iter = iter(blobs)
        for entry in done:
            i = entry[0]
            blob = next(blob_iter) if entry[5] else None
            status = statuses[i] if statuses is not None and i < len(statuses) else None
            values[i] = requests[i]._settle(entry, blob, status)
        return done, values

    def Wait(self, status=None):
        self.wait(status)
        return True

    def wait(self, status=None):
        if self._id is None:
            _fill(status, [PROC_NULL, ANY_TAG, 0, 0])
            return None
        done, values = Request._complete([self], "all", True, one=True, statuses=[status])
        return values[0]

    def Test(self, status=None):
        return self.test(status)[0]

    def test(self, status=None):
        if self._id is None:
            _fill(status, [PROC_NULL, ANY_TAG, 0, 0])
            return True, None
        done, values = Request._complete([self], "all", False, one=True, statuses=[status])
        return (True, values[0]) if done else (False, None)

    def Get_status(self, status=None):
        raise _missing("Request.Get_status")

    def Cancel(self):
        if self._id is not None:
            _conn.call("cancel", {"r": self._id})

    def Free(self):
        if self._id is not None:
            _conn.call("free", {"r": self._id})
            self._id = None

    @classmethod
    def Waitall(cls, requests, statuses=None):
        cls._complete(requests, "all", True, statuses=statuses)
        return True

    @classmethod
    def waitall(cls, requests, statuses=None):
        return cls._complete(requests, "all", True, statuses=statuses)[1]

    @classmethod
    def Testall(cls, requests, statuses=None):
        return cls._complete(requests, "all", False, statuses=statuses) is not None

    @classmethod
    def testall(cls, requests, statuses=None):
        got = cls._complete(requests, "all", False, statuses=statuses)
        return (False, None) if got is None else (True, got[1])

    @classmethod
    def Waitany(cls, requests, status=None):
        return cls.waitany(requests, status)[0]

    @classmethod
    def waitany(cls, requests, status=None):
        done, values = cls._complete(requests, "any", True)
        if not done:
            _fill(status, [PROC_NULL, ANY_TAG, 0, 0])
            return UNDEFINED, None
        _fill(status, done[0][1:5])
        return done[0][0], values[done[0][0]]

    @classmethod
    def Testany(cls, requests, status=None):
        index, flag, _ = cls.testany(requests, status)
        return index, flag

    @classmethod
    def testany(cls, requests, status=None):
        done, values = cls._complete(requests, "any", False)
        if not done:
            return UNDEFINED, all(r._id is None for r in requests), None
        _fill(status, done[0][1:5])
        return done[0][0], True, values[done[0][0]]

    @classmethod
    def Waitsome(cls, requests, statuses=None):
        done, _ = cls._complete(requests, "some", True, statuses=statuses)
        return [e[0] for e in done] if done else None

    @classmethod
    def Testsome(cls, requests, statuses=None):
        done, _ = cls._complete(requests, "some", False, statuses=statuses)
        return [e[0] for e in done] if done else None


REQUEST_NULL = Request()


class Prequest(Request):
    """A persistent request (Send_init, Recv_init): Start it, complete it, start it again."""

    _persistent = True

    def Start(self):
        Prequest._start([self], True)

    @classmethod
    def Startall(cls, requests):
        cls._start(list(requests), False)

    @staticmethod
    def _start(requests, one):
        for r in requests:
            if not isinstance(r, Prequest) or r._id is None:
                raise ValueError("Startall takes persistent requests (from Send_init or Recv_init)")
        # A persistent send sends what its buffer holds when it starts.
        blobs = [r._msg.data() for r in requests if r._kind == _SEND]
        _conn.call("start", {"r": [r._id for r in requests], "bind": [r._kind == _SEND for r in requests], "one": one},
                   blobs)


def _load(blob):
    return _mpisim.pickle.loads(blob)


# -- communicators -------------------------------------------------------------------------

class Comm(_Unimplemented):
    """A communicator; COMM_WORLD, and what Split and Dup make."""

    def __init__(self, cid, rank, size, name):
        self._id, self._rank, self._size, self._name = cid, rank, size, name

    # -- identity
    def Get_rank(self):
        return self._rank

    def Get_size(self):
        return self._size

    @property
    def rank(self):
        return self._rank

    @property
    def size(self):
        return self._size

    def Get_name(self):
        return self._name

    def Set_name(self, name):
        self._name = name

    @property
    def name(self):
        return self._name

    def Is_inter(self):
        return False

    def Is_intra(self):
        return True

    def __eq__(self, other):
        return isinstance(other, Comm) and self._id == other._id

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._id)

    def __bool__(self):
        return self._id is not None

    def __repr__(self):
        return f"<mpi4py.MPI.Intracomm {self._name}>"

    def _call(self, op, fields, blobs=()):
        if self._id is None:
            raise ValueError(f"{op} on MPI.COMM_NULL: the communicator is null (a Split with MPI.UNDEFINED)")
        fields["c"] = self._id
        return _conn.call(op, fields, blobs)

    # -- communicators
    def _made(self, reply, name):
        cid = reply.get("comm")
        if cid is None:
            return COMM_NULL
        return Intracomm(cid, reply["rank"], reply["size"], name)

    def Dup(self, info=None):
        reply, _ = self._call("dup", {})
        return self._made(reply, f"{self._name} (dup)")

    Clone = Dup

    def Split(self, color=0, key=0):
        reply, _ = self._call("split", {"color": int(color), "key": int(key)})
        return self._made(reply, f"{self._name} (split)")

    def Free(self):
        pass

    def Abort(self, errorcode=0):
        # The engine ends the run and never answers: this process is stopped there.
        self._call("abort", {"code": int(errorcode)})

    # -- point to point, objects
    def send(self, obj, dest, tag=0):
        self._call("send", {"dest": int(dest), "tag": int(tag), "mode": "std", "obj": True}, [_dumps(obj)])

    def ssend(self, obj, dest, tag=0):
        self._call("send", {"dest": int(dest), "tag": int(tag), "mode": "sync", "obj": True}, [_dumps(obj)])

    def bsend(self, obj, dest, tag=0):
        self._call("send", {"dest": int(dest), "tag": int(tag), "mode": "buffered", "obj": True}, [_dumps(obj)])

    def recv(self, buf=None, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        reply, blobs = self._call("recv", {"source": int(source), "tag": int(tag), "obj": True})
        _fill(status, reply["s"])
        return _load(blobs[0]) if blobs else None

    def sendrecv(self, sendobj, dest, sendtag=0, recvbuf=None, source=ANY_SOURCE, recvtag=ANY_TAG, status=None):
        fields = {"dest": int(dest), "stag": int(sendtag), "source": int(source), "rtag": int(recvtag), "obj": True}
        reply, blobs = self._call("sendrecv", fields, [_dumps(sendobj)])
        _fill(status, reply["s"])
        return _load(blobs[0]) if blobs else None

    def _isend(self, data, dest, tag, mode, obj, what):
        reply, _ = self._call("send", {"dest": int(dest), "tag": int(tag), "mode": mode, "obj": obj, "nb": True}, [data])
        return Request(reply["req"], _SEND, None, what)

    def isend(self, obj, dest, tag=0):
        return self._isend(_dumps(obj), dest, tag, "std", True, "isend")

    def issend(self, obj, dest, tag=0):
        return self._isend(_dumps(obj), dest, tag, "sync", True, "issend")

    def irecv(self, buf=None, source=ANY_SOURCE, tag=ANY_TAG):
        reply, _ = self._call("recv", {"source": int(source), "tag": int(tag), "obj": True, "nb": True})
        return Request(reply["req"], _RECV_OBJ, None, "irecv")

    def probe(self, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        reply, _ = self._call("probe", {"source": int(source), "tag": int(tag), "block": True})
        _fill(status, reply["s"])
        return True

    def iprobe(self, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        reply, _ = self._call("probe", {"source": int(source), "tag": int(tag), "block": False})
        if reply["s"] is None:
            return False
        _fill(status, reply["s"])
        return True

    Probe = probe
    Iprobe = iprobe

    # -- point to point, buffers
    def Send(self, buf, dest, tag=0):
        msg = _message(buf, "Send")
        self._call("send", {"dest": int(dest), "tag": int(tag), "mode": "std", "obj": False}, [msg.data()])

    def Ssend(self, buf, dest, tag=0):
        msg = _message(buf, "Ssend")
        self._call("send", {"dest": int(dest), "tag": int(tag), "mode": "sync", "obj": False}, [msg.data()])

    def Bsend(self, buf, dest, tag=0):
        msg = _message(buf, "Bsend")
        self._call("send", {"dest": int(dest), "tag": int(tag), "mode": "buffered", "obj": False}, [msg.data()])

    def Rsend(self, buf, dest, tag=0):
        msg = _message(buf, "Rsend")
        self._call("send", {"dest": int(dest), "tag": int(tag), "mode": "ready", "obj": False}, [msg.data()])

    def Recv(self, buf, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        msg = _message(buf, "Recv")
        reply, blobs = self._call("recv", {"source": int(source), "tag": int(tag), "obj": False, "cap": msg.nbytes})
        if blobs:
            msg.fill(blobs[0])
        _fill(status, reply["s"])

    def Sendrecv(self, sendbuf, dest, sendtag=0, recvbuf=None, source=ANY_SOURCE, recvtag=ANY_TAG, status=None):
        smsg = _message(sendbuf, "Sendrecv")
        rmsg = _message(recvbuf, "Sendrecv")
        fields = {"dest": int(dest), "stag": int(sendtag), "source": int(source), "rtag": int(recvtag),
                  "obj": False, "cap": rmsg.nbytes}
        reply, blobs = self._call("sendrecv", fields, [smsg.data()])
        if blobs:
            rmsg.fill(blobs[0])
        _fill(status, reply["s"])

    def Sendrecv_replace(self, buf, dest, sendtag=0, source=ANY_SOURCE, recvtag=ANY_TAG, status=None):
        msg = _message(buf, "Sendrecv_replace")
        self.Sendrecv(bytes(msg.data()), dest, sendtag, buf, source, recvtag, status)

    def Isend(self, buf, dest, tag=0):
        return self._isend(_message(buf, "Isend").data(), dest, tag, "std", False, "Isend")

    def Issend(self, buf, dest, tag=0):
        return self._isend(_message(buf, "Issend").data(), dest, tag, "sync", False, "Issend")

    def Irecv(self, buf, source=ANY_SOURCE, tag=ANY_TAG):
        msg = _message(buf, "Irecv")
        reply, _ = self._call("recv", {"source": int(source), "tag": int(tag), "obj": False, "cap": msg.nbytes,
                                       "nb": True})
        return Request(reply["req"], _RECV_BUF, msg, "Irecv")

    def Send_init(self, buf, dest, tag=0):
        msg = _message(buf, "Send_init")
        reply, _ = self._call("send_init", {"dest": int(dest), "tag": int(tag)}, [msg.data()])
        return Prequest(reply["req"], _SEND, msg, "Send_init")

    def Recv_init(self, buf, source=ANY_SOURCE, tag=ANY_TAG):
        msg = _message(buf, "Recv_init")
        reply, _ = self._call("recv_init", {"source": int(source), "tag": int(tag), "cap": msg.nbytes})
        return Prequest(reply["req"], _RECV_BUF, msg, "Recv_init")

    # -- collectives, objects
    def barrier(self):
        self._call("barrier", {})

    Barrier = barrier

    def bcast(self, obj, root=0):
        blobs = [_dumps(obj)] if self._rank == root else []
        _, got = self._call("bcast", {"root": int(root), "obj": True}, blobs)
        return _load(got[0])

    def scatter(self, sendobj, root=0):
        blobs = [_dumps(x) for x in sendobj] if self._rank == root else []
        _, got = self._call("scatter", {"root": int(root), "obj": True}, blobs)
        return _load(got[0])

    def gather(self, sendobj, root=0):
        _, got = self._call("gather", {"root": int(root), "obj": True}, [_dumps(sendobj)])
        return [_load(b) for b in got] if self._rank == root else None

    def allgather(self, sendobj):
        _, got = self._call("allgather", {"obj": True}, [_dumps(sendobj)])
        return [_load(b) for b in got]

    def alltoall(self, sendobj):
        _, got = self._call("alltoall", {"obj": True}, [_dumps(x) for x in sendobj])
        return [_load(b) for b in got]

    def _reduce(self, kind, sendobj, op, root=None):
        function, name, commute = _object_op(op)
        fields = {"kind": kind, "operator": name, "commute": commute, "obj": True}
        if root is not None:
            fields["root"] = int(root)
        previous, _conn.op = _conn.op, function
        try:
            _, got = self._call("reduce", fields, [_dumps(sendobj)])
        finally:
            _conn.op = previous
        return _load(got[0]) if got else None

    def reduce(self, sendobj, op=SUM, root=0):
        return self._reduce("reduce", sendobj, op, root)

    def allreduce(self, sendobj, op=SUM):
        return self._reduce("allreduce", sendobj, op)

    def scan(self, sendobj, op=SUM):
        return self._reduce("scan", sendobj, op)

    def exscan(self, sendobj, op=SUM):
        return self._reduce("exscan", sendobj, op)

    # -- collectives, buffers
    def Bcast(self, buf, root=0):
        msg = _message(buf, "Bcast")
        blobs = [msg.data()] if self._rank == root else []
        _, got = self._call("bcast", {"root": int(root), "obj": False, "cap": msg.nbytes}, blobs)
        if self._rank != root:
            msg.fill(got[0])

    def _blocks(self, msg, what):
        if msg.nbytes % self._size:
            raise ValueError(f"{what}: {msg.count} elements do not split into {self._size} equal blocks")
        n = msg.nbytes // self._size
        data = msg.data()
        return [data[i * n:(i + 1) * n] for i in range(self._size)], n

    def Scatter(self, sendbuf, recvbuf, root=0):
        blobs = []
        if self._rank == root:
            blobs, _ = self._blocks(_message(sendbuf, "Scatter"), "Scatter")
        if recvbuf is IN_PLACE:
            if self._rank != root:
                raise ValueError("Scatter: only the root may pass MPI.IN_PLACE")
            self._call("scatter", {"root": int(root), "obj": False}, blobs)
            return
        rmsg = _message(recvbuf, "Scatter")
        _, got = self._call("scatter", {"root": int(root), "obj": False, "cap": rmsg.nbytes}, blobs)
        rmsg.fill(got[0])

    def Gather(self, sendbuf, recvbuf, root=0):
        at_root = self._rank == root
        rmsg = _message(recvbuf, "Gather") if at_root else None
        if sendbuf is IN_PLACE:
            if not at_root:
                raise ValueError("Gather: only the root may pass MPI.IN_PLACE")
            blocks, _ = self._blocks(rmsg, "Gather")
            data = bytes(blocks[self._rank])
        else:
            data = _message(sendbuf, "Gather").data()
        _, got = self._call("gather", {"root": int(root), "obj": False}, [data])
        if at_root:
            self._place_blocks(rmsg, got, "Gather")

    def _place_blocks(self, msg, blobs, what):
        n = msg.nbytes // self._size
        for i, b in enumerate(blobs):
            if len(b) != n:
                raise ValueError(f"{what}: rank {i} sent {len(b)} bytes for a block of {n}")
            msg.fill(b, i * n)

    def Allgather(self, sendbuf, recvbuf):
        rmsg = _message(recvbuf, "Allgather")
        if sendbuf is IN_PLACE:
            blocks, _ = self._blocks(rmsg, "Allgather")
            data = bytes(blocks[self._rank])
        else:
            data = _message(sendbuf, "Allgather").data()
        _, got = self._call("allgather", {"obj": False}, [data])
        self._place_blocks(rmsg, got, "Allgather")

    def Alltoall(self, sendbuf, recvbuf):
        rmsg = _message(recvbuf, "Alltoall")
        src = rmsg if sendbuf is IN_PLACE else _message(sendbuf, "Alltoall")
        blocks, _ = self._blocks(src, "Alltoall")
        blocks = [bytes(b) for b in blocks]
        _, got = self._call("alltoall", {"obj": False}, blocks)
        self._place_blocks(rmsg, got, "Alltoall")

    def Scatterv(self, sendbuf, recvbuf, root=0):
        at_root = self._rank == root
        fields = {"root": int(root)}
        blobs = []
        if at_root:
            view, counts, displs, dt = _vmessage(sendbuf, self._size, "Scatterv")
            fields["counts"] = [c * dt.size for c in counts]
            blobs = [view[d * dt.size:(d + c) * dt.size] for c, d in zip(counts, displs)]
        if recvbuf is IN_PLACE:
            if not at_root:
                raise ValueError("Scatterv: only the root may pass MPI.IN_PLACE")
            self._call("scatterv", fields, blobs)
            return
        rmsg = _message(recvbuf, "Scatterv")
        fields["cap"] = rmsg.nbytes
        _, got = self._call("scatterv", fields, blobs)
        rmsg.fill(got[0])

    def Gatherv(self, sendbuf, recvbuf, root=0):
        at_root = self._rank == root
        fields = {"root": int(root)}
        if at_root:
            view, counts, displs, dt = _vmessage(recvbuf, self._size, "Gatherv")
            fields["counts"] = [c * dt.size for c in counts]
        if sendbuf is IN_PLACE:
            if not at_root:
                raise ValueError("Gatherv: only the root may pass MPI.IN_PLACE")
            d, c = displs[self._rank], counts[self._rank]
            data = bytes(view[d * dt.size:(d + c) * dt.size])
        else:
            data = _message(sendbuf, "Gatherv").data()
        _, got = self._call("gatherv", fields, [data])
        if at_root:
            for b, c, d in zip(got, counts, displs):
                view[d * dt.size:d * dt.size + len(b)] = b

    def Allgatherv(self, sendbuf, recvbuf):
        view, counts, displs, dt = _vmessage(recvbuf, self._size, "Allgatherv")
        if sendbuf is IN_PLACE:
            d, c = displs[self._rank], counts[self._rank]
            data = bytes(view[d * dt.size:(d + c) * dt.size])
        else:
            data = _message(sendbuf, "Allgatherv").data()
        _, got = self._call("allgatherv", {"counts": [c * dt.size for c in counts]}, [data])
        for b, d in zip(got, displs):
            view[d * dt.size:d * dt.size + len(b)] = b

    def _Reduce(self, kind, sendbuf, recvbuf, op, root=None):
        what = kind[0].upper() + kind[1:]
        name = _buffer_op(op, what)
        gets = root is None or self._rank == root
        rmsg = _message(recvbuf, what) if gets else None
        smsg = rmsg if sendbuf is IN_PLACE else _message(sendbuf, what)
        if smsg is None:
            raise ValueError(f"{what}: only the root may pass MPI.IN_PLACE")
        if smsg.dt.code is None:
            raise _missing(f"{what} on {smsg.dt.name} (pair types for MAXLOC/MINLOC); use the lowercase "
                           f"{kind} on (value, index) tuples")
        fields = {"kind": kind, "operator": name, "obj": False, "dtype": smsg.dt.code}
        if root is not None:
            fields["root"] = int(root)
        _, got = self._call("reduce", fields, [smsg.data()])
        if gets and got:
            if len(got[0]) != rmsg.nbytes:
                raise ValueError(f"{what}: the result has {len(got[0])} bytes but the receive buffer {rmsg.nbytes}")
            rmsg.fill(got[0])

    def Reduce(self, sendbuf, recvbuf, op=SUM, root=0):
        self._Reduce("reduce", sendbuf, recvbuf, op, root)

    def Allreduce(self, sendbuf, recvbuf, op=SUM):
        self._Reduce("allreduce", sendbuf, recvbuf, op)

    def Scan(self, sendbuf, recvbuf, op=SUM):
        self._Reduce("scan", sendbuf, recvbuf, op)

    def Exscan(self, sendbuf, recvbuf, op=SUM):
        self._Reduce("exscan", sendbuf, recvbuf, op)


class Intracomm(Comm):
    pass


COMM_WORLD = Intracomm(0, _mpisim.RANK, _mpisim.SIZE, "MPI_COMM_WORLD")
COMM_NULL = Intracomm(None, UNDEFINED, 0, "MPI_COMM_NULL")


# -- the environment ----------------------------------------------------------------------------

def Wtime():
    """The rank's virtual clock, in seconds."""
    reply, _ = _conn.call("wtime", {})
    return reply["t"]


def Wtick():
    return 1e-9


def Get_processor_name():
    """The simulated node of this rank (the platform's ranks per node)."""
    return _NODE


_NODE = _mpisim.NODE


def Get_version():
    return (3, 1)


def Get_library_version():
    return "mpisim"


def Init():
    pass


def Init_thread(required=THREAD_MULTIPLE):
    return THREAD_SINGLE


def Query_thread():
    return THREAD_SINGLE


def Is_initialized():
    return True


_finalized = False


def Finalize():
    global _finalized
    _finalized = True


def Is_finalized():
    return _finalized


def Is_thread_main():
    return True


class _PickleConfig:
    """MPI.pickle: how the lowercase methods serialise objects."""

    PROTOCOL = _mpisim.pickle.HIGHEST_PROTOCOL

    def dumps(self, obj):
        return _dumps(obj)

    def loads(self, data):
        return _load(data)


pickle = _PickleConfig()
