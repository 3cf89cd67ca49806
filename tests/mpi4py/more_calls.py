# The calls of the lectures that the other scripts leave out: sendrecv and Sendrecv with
# [buf, count, displ, type], probe/iprobe with ANY_TAG, req.test, Waitany, Testall,
# alltoall/Alltoall, Gatherv, Split and Dup, Barrier, Wtime and Finalize.
# mpisim: -n 4
from mpi4py import MPI
import numpy as np

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

got = comm.sendrecv({"from": rank}, dest=right, source=left)
print(f"rank {rank}: sendrecv got {got}")

# Three doubles from offset 2 of the left neighbour's array, into offset 1 of ours.
mine = np.arange(6, dtype="d") + 10 * rank
into = np.zeros(6, dtype="d")
comm.Sendrecv([mine, 3, 2, MPI.DOUBLE], dest=right, recvbuf=[into, 3, 1, MPI.DOUBLE], source=left)
print(f"rank {rank}: Sendrecv got {into.tolist()}")

# Rank 0 probes each rank's message for its tag, then receives it by that tag.
if rank == 0:
    for source in range(1, size):
        status = MPI.Status()
        comm.probe(source=source, tag=MPI.ANY_TAG, status=status)
        message = comm.recv(source=source, tag=status.Get_tag())
        print(f"probe: rank {status.Get_source()} sent tag {status.Get_tag()}: {message}")
else:
    comm.send(f"hello from {rank}", dest=0, tag=100 + rank)

# iprobe until the message is there; req.test until it has arrived.
if rank == 1:
    comm.send([1, 2, 3], dest=2, tag=7)
    req = comm.irecv(source=2, tag=8)
    while True:
        done, message = req.test()
        if done:
            break
    print(f"rank 1: test got {message}")
elif rank == 2:
    status = MPI.Status()
    while not comm.iprobe(source=1, tag=MPI.ANY_TAG, status=status):
        pass
    print(f"rank 2: iprobe saw tag {status.Get_tag()}")
    comm.send(sum(comm.recv(source=1, tag=7)), dest=1, tag=8)

# Rank 0 waits for any of three receives at a time; the workers' sends are tested.
if rank == 0:
    reqs = [comm.irecv(source=r, tag=r) for r in range(1, size)]
    results = {}
    for _ in range(1, size):
        status = MPI.Status()
        index, value = MPI.Request.waitany(reqs, status=status)
        results[status.Get_source()] = (index, value)
    print(f"waitany: {sorted(results.items())}")
    buf = np.zeros(3, dtype="i")
    breqs = [comm.Irecv([buf[r - 1:r], MPI.INT], source=r, tag=50) for r in range(1, size)]
    index = MPI.Request.Waitany(breqs)
    MPI.Request.Waitall(breqs)
    print(f"Waitany, then Waitall: {buf.tolist()}")
else:
    reqs = [comm.isend(rank * rank, dest=0, tag=rank), comm.Isend([np.array([rank], dtype="i"), MPI.INT], dest=0, tag=50)]
    while not MPI.Request.Testall(reqs):
        pass

print(f"rank {rank}: alltoall {comm.alltoall([10 * rank + i for i in range(size)])}")
send = np.array([10 * rank + i for i in range(size)], dtype="i")
recv = np.zeros(size, dtype="i")
comm.Alltoall(send, recv)
print(f"rank {rank}: Alltoall {recv.tolist()}")

# Rank r sends r + 1 numbers; rank 0 lays them out one after the other.
counts = [r + 1 for r in range(size)]
displs = [sum(counts[:r]) for r in range(size)]
part = np.full(rank + 1, rank, dtype="i")
whole = np.zeros(sum(counts), dtype="i") if rank == 0 else None
comm.Gatherv(part, [whole, counts, displs, MPI.INT] if rank == 0 else None, root=0)
if rank == 0:
    print(f"Gatherv: {whole.tolist()}")

# Even and odd ranks, each half in reverse order; a duplicate of the world.
half = comm.Split(color=rank % 2, key=-rank)
print(f"rank {rank}: half {rank % 2} rank {half.Get_rank()} of {half.Get_size()}, sum {half.allreduce(rank)}")
half.Free()
dup = comm.Dup()
print(f"rank {rank}: dup bcast {dup.bcast('from 3' if rank == 3 else None, root=3)}")
dup.Free()

start = MPI.Wtime()
comm.Barrier()
print(f"rank {rank}: Wtime did not go back: {MPI.Wtime() >= start}")
MPI.Finalize()
