# Every reduction operator on Python objects, MAXLOC/MINLOC (ties to the smaller index),
# reductions of numpy buffers, scan and exscan.
# mpisim: -n 4
from mpi4py import MPI
import numpy as np

comm = MPI.COMM_WORLD
rank = comm.Get_rank()

value = rank + 1
for name in ["SUM", "PROD", "MAX", "MIN", "LAND", "LOR", "LXOR", "BAND", "BOR", "BXOR"]:
    result = comm.allreduce(value, op=getattr(MPI, name))
    if rank == 0:
        print(f"allreduce {name}: {result}")

pair = (rank % 3, rank)
best = comm.allreduce(pair, op=MPI.MAXLOC)
least = comm.allreduce(pair, op=MPI.MINLOC)
if rank == 0:
    print(f"MAXLOC of (rank % 3, rank): {best}; MINLOC: {least}")

names = comm.reduce([rank], op=MPI.SUM, root=0)
if rank == 0:
    print(f"reduce SUM of lists: {names}")

a = np.array([rank, -rank, rank * rank], dtype="i")
out = np.zeros(3, dtype="i")
for name in ["SUM", "PROD", "MAX", "MIN"]:
    comm.Allreduce(a, out, op=getattr(MPI, name))
    if rank == 0:
        print(f"Allreduce {name} of int arrays: {out.tolist()}")
x = np.array([0.5 * rank, 1.0])
total = np.zeros(2)
comm.Reduce(x, total, op=MPI.SUM, root=0)
if rank == 0:
    print(f"Reduce SUM of float arrays: {total.tolist()}")

print(f"rank {rank}: scan {comm.scan(value)}, exscan {comm.exscan(value)}")
