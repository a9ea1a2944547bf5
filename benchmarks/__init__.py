"""Benchmarks on public instance sets (readers, a plain-MIP baseline, ``make bench``)."""
