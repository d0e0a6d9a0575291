# What `make install` puts beside the program and the vocabulary: the library with its public
# headers and a pkg-config file, the manual page, the analysis and Slurm job scripts.
# (tests/core/test_install.sh installs into a DESTDIR and links a program against the result.)

# Every header of include/clipmtl (the CLI's own headers are in src/cli).
clipmtlincludedir = $(includedir)/clipmtl
clipmtlinclude_HEADERS = \
  include/clipmtl/arena.h \
  include/clipmtl/atomic_file.h \
  include/clipmtl/captions.h \
  include/clipmtl/clip_model.h \
  include/clipmtl/clip_weights.h \
  include/clipmtl/config.h \
  include/clipmtl/dataset.h \
  include/clipmtl/dist_linalg.h \
  include/clipmtl/encoder.h \
  include/clipmtl/error.h \
  include/clipmtl/exit_status.h \
  include/clipmtl/fashion_mnist.h \
  include/clipmtl/fs.h \
  include/clipmtl/gemm.h \
  include/clipmtl/grad_reduce.h \
  include/clipmtl/grouping.h \
  include/clipmtl/h5io.h \
  include/clipmtl/half.h \
  include/clipmtl/image.h \
  include/clipmtl/json.h \
  include/clipmtl/kron.h \
  include/clipmtl/layout.h \
  include/clipmtl/loader.h \
  include/clipmtl/log.h \
  include/clipmtl/loss.h \
  include/clipmtl/method_config.h \
  include/clipmtl/ops.h \
  include/clipmtl/optimizer.h \
  include/clipmtl/pack.h \
  include/clipmtl/pretrain.h \
  include/clipmtl/progress.h \
  include/clipmtl/prompt_method.h \
  include/clipmtl/prompt_set.h \
  include/clipmtl/prompts.h \
  include/clipmtl/rng.h \
  include/clipmtl/run_files.h \
  include/clipmtl/run_lock.h \
  include/clipmtl/safetensors.h \
  include/clipmtl/scalapack.h \
  include/clipmtl/similarity.h \
  include/clipmtl/splits.h \
  include/clipmtl/synthetic_images.h \
  include/clipmtl/tasks.h \
  include/clipmtl/tensor_table.h \
  include/clipmtl/text_clean.h \
  include/clipmtl/tokenizer.h \
  include/clipmtl/train_step.h \
  include/clipmtl/trainer.h \
  include/clipmtl/watchdog.h \
  include/clipmtl/weight_methods.h

# clipmtl.pc comes from configure (AC_CONFIG_FILES), so that its directories keep ${prefix} and
# `pkg-config --define-variable=prefix=...` relocates them. Dependencies come through Requires
# (the library is static, so they are not private).
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = clipmtl.pc
EXTRA_DIST += clipmtl.pc.in

dist_man_MANS = docs/clipmtl.1

analysisdir = $(pkgdatadir)/analysis
dist_analysis_SCRIPTS = analysis/clipmtl_files.py analysis/groups_vs_tau.py analysis/plot_similarity.py \
  analysis/results_table.py analysis/sweep_table.py
jobsdir = $(pkgdatadir)/jobs
dist_jobs_SCRIPTS = jobs/pipeline.sbatch jobs/sweep_threshold.sbatch
