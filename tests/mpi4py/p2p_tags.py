# Point to point with tags: rank 0 sends a dict with tag 11 and a list with tag 22; rank 1
# receives them in the other order, picking each by its tag, and reads the status. Rank
# 0's first send completes only because small messages are buffered: a buffering hazard.
# mpisim: -n 2
# warning: buffering hazard
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()

if rank == 0:
    data = {"a": 7, "b": 3.14}
    comm.send(data, dest=1, tag=11)
    comm.send([1, 2, 3], dest=1, tag=22)
    print("rank 0 sent a dict (tag 11) and a list (tag 22)")
elif rank == 1:
    status = MPI.Status()
    items = comm.recv(source=0, tag=22, status=status)
    print(f"rank 1 got {items} with tag {status.Get_tag()} from rank {status.Get_source()}")
    data = comm.recv(source=MPI.ANY_SOURCE, tag=11, status=status)
    print(f"rank 1 got {data} with tag {status.Get_tag()}, {status.Get_count()} bytes")
