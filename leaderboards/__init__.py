"""Aggregation and validity analysis over genrank's run store."""
