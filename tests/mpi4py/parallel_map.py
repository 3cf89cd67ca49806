# Parallel map: every rank maps its share of the items, one allreduce adds them up.
# mpisim: -n 4
from mpi4py import MPI

def f(x):
    return x * x + 1

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()

N = 1000
mine = [f(x) for x in range(rank, N, size)]
local = sum(mine)
total = comm.allreduce(local, op=MPI.SUM)
print(f"rank {rank} mapped {len(mine)} items, local sum {local}")
if rank == 0:
    assert total == sum(f(x) for x in range(N))
    print(f"total {total}")
