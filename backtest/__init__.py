"""Backtests through the live engine: the run, its report, the CLI and data download."""
