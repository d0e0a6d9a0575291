# Ops: one *_forward/*_backward pair per op family (see Makefile.am).
libclipmtl_a_SOURCES += \
  src/ops/kron.c \
  src/ops/loss.c
noinst_HEADERS += \
  include/clipmtl/kron.h \
  include/clipmtl/loss.h
