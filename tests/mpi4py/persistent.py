# Persistent requests in a loop: Send_init and Recv_init once, then Startall and Waitall
# every iteration, with the send buffer refilled in between.
# mpisim: -n 4
from mpi4py import MPI
import numpy as np

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
left, right = (rank - 1) % size, (rank + 1) % size

sendbuf = np.zeros(2, dtype="i")
recvbuf = np.zeros(2, dtype="i")
requests = [comm.Send_init(sendbuf, dest=right, tag=5), comm.Recv_init(recvbuf, source=left, tag=5)]
total = 0
for it in range(3):
    sendbuf[:] = [rank, it]
    MPI.Prequest.Startall(requests)
    MPI.Request.Waitall(requests)
    total += int(recvbuf[0]) * 10 + int(recvbuf[1])
for r in requests:
    r.Free()
print(f"rank {rank}: last {recvbuf.tolist()}, total {total}")
