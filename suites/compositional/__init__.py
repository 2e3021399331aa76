"""Compositional generalisation: SCAN, COGS, PCFG SET, CFQ (and genrank's own SCAN tasks)."""

from suites.compositional import decompose, loaders, readers  # noqa: F401  (register on import)
