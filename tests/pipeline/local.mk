# The pipeline end to end under mpirun: rank counts, resume after a crash or a signal, failure
# handling, the analysis scripts on real outputs, the run's log file, a full disk, damaged
# checkpoints and changed configurations on resume, two runs on one directory, a stopped rank.
TESTS += tests/pipeline/test_pipeline.sh tests/pipeline/test_resume.sh tests/pipeline/test_baselines_mpi.sh tests/pipeline/test_run_log.sh \
         tests/pipeline/test_disk_full.sh tests/pipeline/test_resume_checks.sh tests/pipeline/test_run_lock.sh \
         tests/pipeline/test_stall.sh tests/pipeline/test_planted_grouping.sh
EXTRA_DIST += tests/pipeline/pipeline_common.sh tests/pipeline/test_pipeline.sh tests/pipeline/test_resume.sh tests/pipeline/test_baselines_mpi.sh tests/pipeline/test_run_log.sh \
              tests/pipeline/test_disk_full.sh tests/pipeline/test_resume_checks.sh tests/pipeline/test_run_lock.sh \
              tests/pipeline/test_stall.sh tests/pipeline/test_planted_grouping.sh

# A preload library (built as a program linked -shared): SIGUSR1 inside MPI_Init. Its own flags,
# without the sanitizers, since it is loaded into processes it does not start.
check_PROGRAMS += tests/pipeline/signal_in_mpi_init.so
tests_pipeline_signal_in_mpi_init_so_SOURCES = tests/pipeline/signal_in_mpi_init.c
tests_pipeline_signal_in_mpi_init_so_CFLAGS = -fPIC $(MPI_CFLAGS)
tests_pipeline_signal_in_mpi_init_so_LDFLAGS = -shared
tests_pipeline_signal_in_mpi_init_so_LDADD = $(MPI_LIBS)
