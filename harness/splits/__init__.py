"""Splits as first-class objects: strategies, atom/compound divergence and the MCD search.

Nothing here knows a benchmark: a dataset's suite registers how its items decompose
into atoms and compounds (``registry.split_parser``) and which items form its pool
(``registry.split_dataset``); this package splits, measures and writes them.
"""
