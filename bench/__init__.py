"""Benchmarks, one script per figure (run as files: `python -P bench/<name>.py`)."""
