# The ring with 8-byte messages (one float64 each): it completes, because the library
# buffers small messages; with no buffering it would hang as ring.py does.
# mpisim: -n 4
# warning: buffering hazard
from mpi4py import MPI
import numpy as np

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()

out = np.array([rank * 1.5])
got = np.empty(1)
comm.Send(out, dest=(rank + 1) % size)
comm.Recv(got, source=(rank - 1) % size)
print(f"rank {rank} got {got[0]}")
