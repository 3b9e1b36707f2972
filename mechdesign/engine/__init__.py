"""The engine: the linear screening program and everything that solves, audits and certifies it.

It knows nothing about LLMs: types are vectors, allocations are vectors, costs come from a cost
model (:mod:`mechdesign.settings.costs` for the token technology).
"""
