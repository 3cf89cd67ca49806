# A wildcard race: rank 0 takes one message from ANY_SOURCE, then one from the last rank,
# as if the wildcard always matched a lower rank first. It completes when it does; when
# the wildcard takes the last rank's message, the second receive waits forever.
# (mpisim run wildcard_race.py --explore 50 finds that schedule.)
# mpisim: -n 3
# real: skip the race is real: on Open MPI it completes or hangs from run to run
from mpi4py import MPI
import time

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()

if rank == 0:
    time.sleep(0.001)
    first = comm.recv(source=MPI.ANY_SOURCE)
    last = comm.recv(source=size - 1)
    print(f"rank 0 got {first} first, then {last}")
else:
    comm.send(rank, dest=0)
