"""The static leaderboard site (``genrank site``)."""

from leaderboards.site.build import build_site

__all__ = ["build_site"]
