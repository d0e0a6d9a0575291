# Benchmarks: programs that print a speed ratio against a baseline measured in the same run.
noinst_PROGRAMS += bench/bench_vit_forward
bench_bench_vit_forward_SOURCES = bench/bench_vit_forward.c
bench_bench_vit_forward_LDADD = libclipmtl.a $(DEPS_LIBS)
