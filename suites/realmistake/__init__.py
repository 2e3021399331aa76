"""ReaLMistake (Kamoi et al. 2024): the evaluated model detects errors in LLM responses.

Importing the package registers the loader, the verdict verifier, the detection
metrics and the reader of published detector outputs.
"""

from suites.realmistake import data, metrics, verdict  # noqa: F401
