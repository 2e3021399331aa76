"""genrank's engine: task specs, data access, backends, runner, cache and run store.

The engine knows no benchmark: everything benchmark-specific lives in ``suites/``
and is reached through the registries in :mod:`harness.registry`.
"""

__version__ = "0.2.0"  # 0.2: self-describing runs (metric terms, runspec, format 2)
