"""mpisim's mpi4py: the module an mpi4py script imports when mpisim runs it.

mpisim puts this package first on the script's module path, so `from mpi4py import MPI`
finds it instead of an installed mpi4py. Each rank is its own Python process; its MPI
calls go to the rank's proxy in mpisim's engine (see MPI.py).
"""

__version__ = "4.0.0+mpisim"


class _RuntimeConfig:
    """mpi4py.rc: accepted and ignored (mpisim initialises nothing)."""

    initialize = True
    threads = True
    thread_level = "multiple"
    finalize = True
    fast_reduce = True
    recv_mprobe = True
    irecv_bufsz = 32768
    errors = "exception"

    def __call__(self, **options):
        for name, value in options.items():
            setattr(self, name, value)


rc = _RuntimeConfig()


def get_config():
    return {"mpisim": True}


def profile(*args, **kwargs):
    pass
