# Sources of src/io (see Makefile.am).
