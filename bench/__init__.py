"""plughub's benchmarks: `python -m bench [NAME ...] [--quick]` (never run by the test suite's timers)."""
