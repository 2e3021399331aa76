"""genrank's application layer: the command line and the commands that combine the engine
(``harness``), the benchmark families (``suites``) and the analysis (``leaderboards``).

Imports only go downwards: genrank -> (suites, leaderboards) -> harness.
"""

from harness import __version__

__all__ = ["__version__"]
