# Nonblocking exchange with both neighbours: Isend, Irecv, Waitall.
# mpisim: -n 4
from mpi4py import MPI
import numpy as np

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
left, right = (rank - 1) % size, (rank + 1) % size

send_left = np.full(4, rank, dtype="d")
send_right = np.full(4, rank + 0.5, dtype="d")
from_left = np.empty(4, dtype="d")
from_right = np.empty(4, dtype="d")
requests = [
    comm.Irecv(from_left, source=left, tag=1),
    comm.Irecv(from_right, source=right, tag=2),
    comm.Isend(send_right, dest=right, tag=1),
    comm.Isend(send_left, dest=left, tag=2),
]
MPI.Request.Waitall(requests)

req = comm.isend({"from": rank}, dest=right, tag=3)
msg = comm.irecv(source=left, tag=3).wait()
req.wait()
print(f"rank {rank}: from left {from_left[0]}, from right {from_right[0]}, object {msg}")
