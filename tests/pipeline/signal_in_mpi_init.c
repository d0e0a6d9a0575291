/* Preloaded into the ranks by test_resume.sh (mpirun -x LD_PRELOAD): SIGUSR1 arrives while the
 * rank is inside MPI_Init, as when Slurm signals a job that is still starting. A rank that installs
 * its handlers only after MPI_Init dies of the signal; clipmtl must stop cleanly at its first step
 * boundary instead. */
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

int MPI_Init(int *argc, char ***argv)
{
    kill(getpid(), SIGUSR1); /* to the process, as Slurm and mpirun send it */
    return PMPI_Init(argc, argv);
}
