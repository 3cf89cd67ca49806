# k-means restarts in parallel: every rank clusters the same points from its own random
# start; MINLOC over (inertia, rank) picks the best run, whose centroids Bcast shares.
# mpisim: -n 4
from mpi4py import MPI
import numpy as np

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
K, N, ITERATIONS = 3, 300, 8

points = np.random.default_rng(2024).normal(size=(N, 2)) + np.repeat([[0, 0], [6, 0], [0, 6]], N // K, axis=0)
rng = np.random.default_rng(rank)
centroids = points[rng.choice(N, K, replace=False)]
for _ in range(ITERATIONS):
    labels = np.argmin(((points[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2), axis=1)
    centroids = np.array([points[labels == k].mean(axis=0) if np.any(labels == k) else centroids[k] for k in range(K)])
inertia = float(((points - centroids[labels]) ** 2).sum())

best_inertia, best_rank = comm.allreduce((round(inertia, 6), rank), op=MPI.MINLOC)
best = centroids.copy() if rank == best_rank else np.empty((K, 2))
comm.Bcast(best, root=best_rank)
order = np.lexsort((best[:, 1], best[:, 0]))
print(f"rank {rank}: inertia {inertia:.3f}")
if rank == 0:
    print(f"best run: rank {best_rank}, inertia {best_inertia:.3f}, centroids {np.round(best[order], 2).tolist()}")
