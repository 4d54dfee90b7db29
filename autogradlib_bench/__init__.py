"""Benchmarks of Autogradlib: against PyTorch eager (`autogradlib bench`) and across processes
(`autogradlib bench-distributed`). Kept out of the `autogradlib` package because they use
PyTorch's own modules and optimizers, as the competitor, which the framework itself never does."""
