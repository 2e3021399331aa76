"""Benchmark-validity analysis: do benchmarks that claim to measure the same thing rank models alike?

Modules work on plain DataFrames (wide ``model x benchmark`` tables, long ``model, item_id, score``
response frames) so the same code serves run directories, leaderboard CSVs and public snapshots.
"""
