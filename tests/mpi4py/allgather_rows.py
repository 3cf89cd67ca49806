# Allgather of Python objects, and Allgather of numpy rows into a matrix.
# mpisim: -n 4
from mpi4py import MPI
import numpy as np

comm = MPI.COMM_WORLD
size = comm.Get_size()
rank = comm.Get_rank()

names = comm.allgather(f"r{rank}")
row = np.arange(3, dtype="i") + 10 * rank
matrix = np.empty((size, 3), dtype="i")
comm.Allgather([row, MPI.INT], [matrix, MPI.INT])
print(f"rank {rank}: {names} rows {matrix.tolist()}")
