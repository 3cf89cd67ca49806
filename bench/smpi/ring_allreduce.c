/* ring-allreduce in C: the workload of mpisim's `ring-allreduce` catalogue program
 * (sim/src/catalogue/ring_allreduce.rs), for SimGrid SMPI or any MPI library.
 *
 *   smpicc -O2 -o ring_allreduce bench/smpi/ring_allreduce.c
 *   smpirun -np 1024 -platform cluster.xml ./ring_allreduce [LAPS BYTES ALLREDUCES LENGTH]
 *
 * A token of BYTES bytes goes LAPS times around the ring (rank 0 starts each lap; every
 * rank receives from its left neighbour, adds one to the counter in the token's first 8
 * bytes, and sends to its right one), then every rank calls MPI_Allreduce (SUM) ALLREDUCES
 * times on LENGTH doubles, element k of the i-th holding rank + k + i. Defaults: 100 laps of
 * 1024 bytes, 100 allreduces of 8 doubles, as mpisim's.
 *
 * Rank 0 prints one line that the benchmark (sim/benches/smpi.rs) compares with mpisim's
 * result for rank 0:
 *   ring-allreduce: ranks=N token=T sum=S
 */
#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_TAG 1

/* The counter: the token's first (up to) 8 bytes, little-endian (x86's order, and the
 * simulator's). */
static uint64_t counter(const unsigned char *token, size_t len)
{
    uint64_t value = 0;
    memcpy(&value, token, len < 8 ? len : 8);
    return value;
}

static void set_counter(unsigned char *token, size_t len, uint64_t value)
{
    memcpy(token, &value, len < 8 ? len : 8);
}

/* Argument i as a whole number, or `fallback` when absent; -1 when it is not one. */
static long arg(int argc, char **argv, int i, long fallback)
{
    if (argc <= i)
        return fallback;
    char *end;
    long v = strtol(argv[i], &end, 10);
    return (*end != '\0' || end == argv[i] || v < 0) ? -1 : v;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long given[4] = {arg(argc, argv, 1, 100), arg(argc, argv, 2, 1024), arg(argc, argv, 3, 100),
                     arg(argc, argv, 4, 8)};
    for (int i = 0; i < 4; i++) {
        if (given[i] < 0 || given[i] > INT_MAX) {
            /* Every rank sees the same arguments, so every rank stops here. */
            if (rank == 0)
                fprintf(stderr, "ring_allreduce: argument %d (`%s`) is not a whole number up to %d; "
                                "usage: ring_allreduce [LAPS BYTES ALLREDUCES LENGTH]\n",
                        i + 1, argv[i + 1], INT_MAX);
            MPI_Finalize();
            return 2;
        }
    }
    long laps = given[0], allreduces = given[2];
    size_t bytes = (size_t)given[1], length = (size_t)given[3];

    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    unsigned char *token = calloc(bytes > 0 ? bytes : 1, 1);
    double *values = malloc((length > 0 ? length : 1) * sizeof(double));
    double *result = malloc((length > 0 ? length : 1) * sizeof(double));
    if (token == NULL || values == NULL || result == NULL) {
        fprintf(stderr, "ring_allreduce: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    uint64_t held = 0;
    for (long lap = 0; lap < laps; lap++) {
        if (rank == 0) {
            set_counter(token, bytes, held + 1);
            MPI_Send(token, (int)bytes, MPI_BYTE, right, TOKEN_TAG, MPI_COMM_WORLD);
            MPI_Recv(token, (int)bytes, MPI_BYTE, left, TOKEN_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            held = counter(token, bytes);
        } else {
            MPI_Recv(token, (int)bytes, MPI_BYTE, left, TOKEN_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            set_counter(token, bytes, counter(token, bytes) + 1);
            held = counter(token, bytes);
            MPI_Send(token, (int)bytes, MPI_BYTE, right, TOKEN_TAG, MPI_COMM_WORLD);
        }
    }

    double sum = 0.0;
    for (long i = 0; i < allreduces; i++) {
        for (size_t k = 0; k < length; k++)
            values[k] = (double)((uint64_t)rank + k + (uint64_t)i);
        MPI_Allreduce(values, result, (int)length, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        for (size_t k = 0; k < length; k++)
            sum += result[k];
    }

    if (rank == 0)
        printf("ring-allreduce: ranks=%d token=%llu sum=%.1f\n", size, (unsigned long long)held, sum);
    free(token);
    free(values);
    free(result);
    MPI_Finalize();
    return 0;
}
