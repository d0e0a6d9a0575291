# Sources of src/ops (see Makefile.am).
