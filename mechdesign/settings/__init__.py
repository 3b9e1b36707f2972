"""The paper's settings, one module each: a Problem with ``solve`` and its Result.

Single model (§3-4), contractible tasks and value-scale types (App. B), several models (§5.1-5.2),
leader against a fringe (§5.3); the cost models that write the token technology as cones.
"""
