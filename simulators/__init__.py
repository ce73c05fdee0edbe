"""Simulators of the tax device and the tax bureau, used by the demo, the tests and benchmarks."""
