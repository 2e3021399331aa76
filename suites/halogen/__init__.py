"""HALoGEN (Ravichander et al. 2025): hallucinations of generative models in 9 domains.

Importing the package registers the prompt loader, the reader of the published
per-model hallucination files, the verifiers (published evidence, offline
knowledge, LLM judge) and the hallucination/response-ratio/utility metrics.
"""

from suites.halogen import data, judge, metrics, offline  # noqa: F401
