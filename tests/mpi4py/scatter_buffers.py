# Scatter and Gather of numpy arrays, then uneven chunks with Scatterv and Allgatherv.
# mpisim: -n 4
from mpi4py import MPI
import numpy as np

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()

sendbuf = None
if rank == 0:
    sendbuf = np.arange(size * 3, dtype="d").reshape(size, 3)
chunk = np.empty(3, dtype="d")
comm.Scatter(sendbuf, chunk, root=0)
chunk *= 2
gathered = np.empty((size, 3), dtype="d") if rank == 0 else None
comm.Gather(chunk, gathered, root=0)
if rank == 0:
    print(f"Gather of doubled chunks: {gathered.tolist()}")

counts = [i + 1 for i in range(size)]
displs = [sum(counts[:i]) for i in range(size)]
data = np.arange(sum(counts), dtype="i") if rank == 0 else None
mine = np.empty(counts[rank], dtype="i")
comm.Scatterv([data, counts, displs, MPI.INT] if rank == 0 else None, mine, root=0)
print(f"rank {rank} got {mine.tolist()} from Scatterv")
mine = mine * 10
everything = np.empty(sum(counts), dtype="i")
comm.Allgatherv(mine, [everything, counts, displs, MPI.INT])
if rank == size - 1:
    print(f"Allgatherv: {everything.tolist()}")
