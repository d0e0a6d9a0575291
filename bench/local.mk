# Benchmarks: programs that print a speed ratio against a baseline measured in the same run.
