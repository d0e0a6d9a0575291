# The analysis scripts' own logic (they also run on real outputs in tests/pipeline and tests/jobs).
TESTS += tests/analysis/test_plot_similarity.py tests/analysis/test_fmnist_study.py tests/analysis/test_lr_grid.py
EXTRA_DIST += tests/analysis/test_plot_similarity.py tests/analysis/test_fmnist_study.py tests/analysis/test_lr_grid.py
