"""Colorizing many files: inputs found, outputs planned, the output folder prepared, batches run."""
