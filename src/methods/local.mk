# Sources of src/methods (see Makefile.am).
