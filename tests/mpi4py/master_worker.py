# Master and workers: rank 0 hands out tasks; a worker fakes the work with time.sleep and
# sends back the result; rank 0 gives the next task to whoever answered first.
# mpisim: -n 4
from mpi4py import MPI
import time

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
TASKS = 8
STOP = -1

if rank == 0:
    results = {}
    next_task = 0
    for worker in range(1, size):
        comm.send(next_task, dest=worker)
        next_task += 1
    status = MPI.Status()
    while len(results) < TASKS:
        task, value = comm.recv(source=MPI.ANY_SOURCE, status=status)
        results[task] = value
        if next_task < TASKS:
            comm.send(next_task, dest=status.Get_source())
            next_task += 1
        else:
            comm.send(STOP, dest=status.Get_source())
    for task in sorted(results):
        print(f"task {task}: {results[task]}")
    print(f"sum {sum(results.values())}")
else:
    while True:
        task = comm.recv(source=0)
        if task == STOP:
            break
        time.sleep(0.01 * (task % 3 + 1))
        comm.send((task, task * task), dest=0)
