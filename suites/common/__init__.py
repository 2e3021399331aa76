"""Components several benchmark families share (e.g. the ``math_answer`` verifier):
any task of any suite may name them, whichever suite is imported first."""

from suites.common import math_answer  # noqa: F401  (registration)
