"""Tools that use the whole stack (evaluation, benchmarks, long runs): run as ``python -m tools.<name>``."""
