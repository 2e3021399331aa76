"""Interoperability with other evaluation tools (lm-eval)."""
