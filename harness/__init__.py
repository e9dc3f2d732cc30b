"""Core library of the evaluation harness (kept import-light: heavy imports live in submodules)."""

__version__ = "0.1.0"
