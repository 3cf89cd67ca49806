# Hello: every rank says who it is.
# mpisim: -n 4
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
print(f"Hello from rank {rank} of {size}")
if rank == 0:
    print(f"processor name given: {len(MPI.Get_processor_name()) > 0}")
