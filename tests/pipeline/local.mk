# The pipeline end to end under mpirun: rank counts, resume after a crash or a signal, failure
# handling, the analysis scripts on real outputs.
TESTS += tests/pipeline/test_pipeline.sh tests/pipeline/test_resume.sh tests/pipeline/test_baselines_mpi.sh \
  tests/pipeline/test_planted_grouping.sh
EXTRA_DIST += tests/pipeline/pipeline_common.sh tests/pipeline/test_pipeline.sh tests/pipeline/test_resume.sh tests/pipeline/test_baselines_mpi.sh \
  tests/pipeline/test_planted_grouping.sh
