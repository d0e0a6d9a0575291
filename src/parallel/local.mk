# Sources of src/parallel (see Makefile.am).
