"""Benchmarks: each prints ratios against a baseline measured in the same run (the machine is
shared and noisy, so absolute times mean little). Not tests: nothing here asserts a time."""
