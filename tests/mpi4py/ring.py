# The ring: every rank sends a big list to its right neighbour, then receives from its
# left. Each send is far above the eager limit, so it waits for its receive: all ranks
# wait in send, and none receives. This hangs on a real MPI too.
# mpisim: -n 4
# outcome: deadlock
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()

data = list(range(1000000))
comm.send(data, dest=(rank + 1) % size)
got = comm.recv(source=(rank - 1) % size)
print(f"rank {rank} got {len(got)} numbers")
