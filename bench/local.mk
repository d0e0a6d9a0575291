# Benchmarks: programs that print a speed ratio against a baseline measured in the same run.
noinst_PROGRAMS += bench/bench_tokenizer
bench_bench_tokenizer_SOURCES = bench/bench_tokenizer.c
bench_bench_tokenizer_LDADD = libclipmtl.a $(DEPS_LIBS)
noinst_PROGRAMS += bench/bench_image
bench_bench_image_SOURCES = bench/bench_image.c
bench_bench_image_LDADD = libclipmtl.a $(DEPS_LIBS)
noinst_PROGRAMS += bench/bench_vit_forward
bench_bench_vit_forward_SOURCES = bench/bench_vit_forward.c bench/bench_paths.c bench/bench_paths.h
bench_bench_vit_forward_LDADD = libclipmtl.a $(DEPS_LIBS)
noinst_PROGRAMS += bench/bench_train_step
bench_bench_train_step_SOURCES = bench/bench_train_step.c bench/bench_paths.c bench/bench_paths.h
bench_bench_train_step_LDADD = libclipmtl.a $(DEPS_LIBS)
EXTRA_DIST += bench/train_step_reference.py
noinst_PROGRAMS += bench/bench_loader
bench_bench_loader_SOURCES = bench/bench_loader.c
bench_bench_loader_LDADD = libclipmtl.a $(DEPS_LIBS)
EXTRA_DIST += bench/bench_scaling.sh
