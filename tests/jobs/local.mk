# The Slurm scripts under bash with a stand-in srun, and under a private real Slurm.
TESTS += tests/jobs/test_jobs.sh tests/jobs/test_slurm.sh
EXTRA_DIST += tests/jobs/jobs_common.sh tests/jobs/test_jobs.sh tests/jobs/test_slurm.sh jobs/pipeline.sbatch jobs/sweep_threshold.sbatch
