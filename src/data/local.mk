# Sources of src/data (see Makefile.am).
