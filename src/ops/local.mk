# Ops: one *_forward/*_backward pair per op family (see Makefile.am).
libclipmtl_a_SOURCES += \
  src/ops/kron.c
noinst_HEADERS += \
  include/clipmtl/kron.h
