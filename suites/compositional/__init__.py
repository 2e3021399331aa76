"""Compositional generalisation: SCAN, COGS, PCFG SET, CFQ (and genrank's own SCAN tasks)."""

from suites.compositional import loaders, readers  # noqa: F401  (register on import)
