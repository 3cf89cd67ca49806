"""The link between one rank's Python process and its proxy rank in mpisim's engine.

The wire protocol (version 1) is described in mpisim's sim/src/python/wire.rs, which is
its other end. In short: frames of ``u32 length | u32 header length | JSON header |
blobs``, little-endian; the header's ``b`` lists the blob sizes. The rank sends a request
per MPI call and blocks until the reply; while a reduction of Python objects is under
way the engine may send ``apply`` frames first, which this process answers by applying
the operator. Exactly one rank's process runs at a time: the others wait in ``read``.
"""

import io
import json
import os
import pickle
import struct
import sys
import time

VERSION = 1
_HEAD = struct.Struct("<II")
# One encoder and decoder for every frame: about 2 µs of a call less than json.dumps/loads.
_ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_DECODE = json.JSONDecoder().decode
# Frames up to this size go out in one write; larger blobs are written as they are.
_SMALL = 1 << 16
_SHIM = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

RANK = int(os.environ.get("MPISIM_RANK", "0"))
SIZE = int(os.environ.get("MPISIM_SIZE", "1"))
NODE = os.environ.get("MPISIM_NODE", "node0")
# --measure: each call also says how much CPU time the rank spent since the last one.
MEASURE = os.environ.get("MPISIM_MEASURE") == "1"


def gone():
    """mpisim closed the pipe: the run is over (another rank failed, or it deadlocked, or
    mpisim was stopped). Nothing is left to report to; the process ends at once."""
    os._exit(70)


def site():
    """The caller's file and line: the first frame outside this package (the user's)."""
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_SHIM):
        f = f.f_back
    if f is None:
        return ["<mpisim>", 0]
    return [f.f_code.co_filename, f.f_lineno]


class Connection:
    """The rank's end of the pipe pair (the process's stdin and stdout when it starts)."""

    def __init__(self):
        rfd, wfd = os.dup(0), os.dup(1)
        # The script's own stdin reads nothing (as on ranks other than 0 under mpiexec), and
        # what it writes to file descriptor 1 directly goes to stderr, never into the pipe.
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        self.r = io.open(rfd, "rb", buffering=1 << 16)
        self.w = io.open(wfd, "wb", buffering=0)
        # The operator of the reduction in progress, for `apply` callbacks.
        self.op = None
        # With --measure: the thread's CPU time when the last call returned.
        self.mark = time.thread_time()
        self.send({"op": "hello", "v": VERSION, "pid": os.getpid()})

    def _write(self, data):
        view = memoryview(data)
        while view:
            n = self.w.write(view)
            view = view[n:]

    def send(self, header, blobs=()):
        if blobs:
            header["b"] = [len(b) for b in blobs]
        h = _ENCODE(header).encode()
        total = sum(len(b) for b in blobs)
        head = _HEAD.pack(4 + len(h) + total, len(h)) + h
        try:
            if total <= _SMALL:
                self._write(b"".join([head, *blobs]))
            else:
                self._write(head)
                for b in blobs:
                    self._write(b)
        except (BrokenPipeError, OSError):
            gone()

    def recv(self):
        head = self.r.read(8)
        if len(head) < 8:
            gone()
        n, h = _HEAD.unpack(head)
        body = self.r.read(n - 4)
        if len(body) < n - 4:
            gone()
        header = _DECODE(body[:h].decode())
        view = memoryview(body)
        blobs, at = [], h
        for size in header.get("b", ()):
            blobs.append(view[at:at + size])
            at += size
        return header, blobs

    def call(self, op, fields, blobs=(), at=None):
        """Makes one MPI call of the engine and returns its reply (header, blobs)."""
        header = {"op": op, "at": at or site()}
        header.update(fields)
        if MEASURE:
            header["cpu"] = time.thread_time() - self.mark
        self.send(header, blobs)
        while True:
            reply, got = self.recv()
            if "apply" not in reply:
                if MEASURE:
                    self.mark = time.thread_time()
                return reply, got
            # a ∘ b for the engine's reduction, a from lower ranks.
            a, b = (pickle.loads(x) for x in got)
            self.send({"op": "applied"}, [dumps(self.op(a, b))])


def dumps(obj):
    return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)


class LineWriter(io.TextIOBase):
    """sys.stdout of a rank: each complete line becomes a line of mpisim's output, at the
    rank's virtual time, so output is ordered the same on every run."""

    def __init__(self, conn):
        super().__init__()
        self._conn = conn
        self._partial = ""

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._partial += text
        if "\n" in self._partial:
            *lines, self._partial = self._partial.split("\n")
            at = site()
            for line in lines:
                self._conn.call("print", {"text": line}, at=at)
        return len(text)

    def flush(self):
        # A line is the unit of output: a partial line waits for its end (or the exit).
        pass

    def finish(self):
        if self._partial:
            line, self._partial = self._partial, ""
            self._conn.call("print", {"text": line}, at=site())

    @property
    def buffer(self):
        return _BinaryLines(self)


class _BinaryLines:
    """sys.stdout.buffer: bytes are decoded as UTF-8 and go the same way as text."""

    def __init__(self, text):
        self._text = text

    def write(self, data):
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self):
        pass


CONN = None


def connect():
    global CONN
    if CONN is None:
        CONN = Connection()
    return CONN


def sleep(seconds):
    """time.sleep on a rank: advances the rank's virtual clock instead of waiting."""
    seconds = float(seconds)
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    connect().call("sleep", {"s": seconds}, at=site())
