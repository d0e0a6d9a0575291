/* Preloaded into the ranks by test_resume.sh (mpirun -x LD_PRELOAD): SIGUSR1 arrives while the
 * rank is inside MPI_Init, as when Slurm signals a job that is still starting. A rank that installs
 * its handlers only after MPI_Init dies of the signal; clipmtl must stop cleanly at its first step
 * boundary instead. */
#include <mpi.h>
#include <signal.h>

int MPI_Init(int *argc, char ***argv)
{
    raise(SIGUSR1);
    return PMPI_Init(argc, argv);
}
