# Ops: one *_forward/*_backward pair per op family (see Makefile.am).
libclipmtl_a_SOURCES += \
  src/ops/kron.c \
  src/ops/loss.c
noinst_HEADERS += \
  include/clipmtl/kron.h \
  include/clipmtl/loss.h
# Encoder ops: one file per op family, each a
# forward/backward pair declared in include/clipmtl/ops.h.
libclipmtl_a_SOURCES += \
  src/ops/layernorm.c \
  src/ops/gemm.c \
  src/ops/gemm_onednn.c \
  src/ops/matmul.c \
  src/ops/attention.c \
  src/ops/activation.c \
  src/ops/residual.c \
  src/ops/bf16.c \
  src/ops/patch_embed.c \
  src/ops/embedding.c \
  src/ops/parallel.c
noinst_HEADERS += \
  include/clipmtl/ops.h src/ops/parallel.h src/ops/gemm_onednn.h src/ops/vec16.h
