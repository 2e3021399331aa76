"""Benchmark families: one folder each (loader, prompt, verifier), registered on import."""
