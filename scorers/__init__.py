"""Scorers of the harness. Each module holds one family; pure helpers live in harness/."""

from scorers.math import math_answer

__all__ = ["math_answer"]
