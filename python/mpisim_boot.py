"""How mpisim starts one rank of an mpi4py script: python3 mpisim_boot.py SCRIPT ARGS...

It connects to the rank's proxy (the process's stdin and stdout), makes the script's
stdout a stream of ordered output lines, makes time.sleep advance the rank's virtual
clock, seeds `random` per rank, runs the script as __main__, and reports how it ended:
normally, or with an uncaught exception (its type, message and traceback).
"""

import os
import sys


def _report(conn, e, shim, kind, message):
    """Tells the proxy how the script failed: the traceback's frames outside mpisim's own
    files (innermost last), and the MPI call it failed in, if it failed inside one (the
    innermost method of the shim that the script called)."""
    import traceback

    frames, entry, caller_is_user = [], None, False
    for fs in traceback.extract_tb(e.__traceback__):
        ours = fs.filename.startswith(shim)
        if ours and caller_is_user:
            entry = fs.name
        caller_is_user = not ours and not fs.filename.endswith(("runpy.py", "<frozen runpy>"))
        if caller_is_user:
            frames.append([fs.filename, fs.lineno or 0, fs.name])
    if isinstance(e, SyntaxError) and e.filename:
        # The line that does not parse is no frame of the traceback.
        frames.append([e.filename, e.lineno or 0, "<module>"])
    conn.send({"op": "raise", "type": kind, "message": message, "frames": frames, "in": entry})


def main():
    shim = os.path.dirname(os.path.abspath(__file__)) + os.sep
    script, args = sys.argv[1], sys.argv[2:]
    from mpi4py import _mpisim

    conn = _mpisim.connect()
    sys.argv = [script] + args
    # As `python3 script.py` does, the script's directory comes first, after this shim.
    sys.path[0:1] = [shim.rstrip(os.sep), os.path.dirname(os.path.abspath(script))]
    out = _mpisim.LineWriter(conn)
    sys.stdout = out

    import random
    import time

    time.sleep = _mpisim.sleep
    random.seed(os.environ.get("MPISIM_RANK_SEED", "0"))

    import atexit
    import runpy

    # mpisim's own start-up (this module, the shim's MPI module) is not the script's work:
    # with --measure, the CPU time charged to the rank starts with the script's first line.
    from mpi4py import MPI  # noqa: F401

    conn.mark = time.thread_time()
    code = 0
    try:
        try:
            runpy.run_path(script, run_name="__main__")
        finally:
            atexit._run_exitfuncs()
    except SystemExit as e:
        if e.code is None or e.code == 0:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
        if code != 0:
            out.finish()
            _report(conn, e, shim, "SystemExit", f"the script exited with code {code}")
            os._exit(1)
    except BaseException as e:
        out.finish()
        _report(conn, e, shim, type(e).__name__, str(e))
        os._exit(1)
    out.finish()
    conn.send({"op": "exit"})
    sys.stderr.flush()
    os._exit(0)


main()
