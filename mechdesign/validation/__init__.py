"""Verification: proposition checks (``mechdesign validate``), numeric-vs-analytic comparisons, task-level programs.
"""
