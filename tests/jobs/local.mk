# The Slurm scripts under bash with a stand-in srun.
TESTS += tests/jobs/test_jobs.sh
EXTRA_DIST += tests/jobs/test_jobs.sh jobs/pipeline.sbatch jobs/sweep_threshold.sbatch
