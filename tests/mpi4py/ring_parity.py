# The ring fixed: even ranks send first, odd ranks receive first.
# mpisim: -n 4
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()

data = list(range(1000000))
right, left = (rank + 1) % size, (rank - 1) % size
if rank % 2 == 0:
    comm.send(data, dest=right)
    got = comm.recv(source=left)
else:
    got = comm.recv(source=left)
    comm.send(data, dest=right)
print(f"rank {rank} got {len(got)} numbers from rank {left}")
