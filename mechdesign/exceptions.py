"""Every error and warning mechdesign raises, one class per kind of failure.

Each docstring says what went wrong and how to fix it; the message of each instance names the
offending field, its value and the allowed range.
"""

from __future__ import annotations


class MechDesignError(Exception):
    """Base class of every mechdesign error. Catch this to catch them all."""


class ProblemSpecError(MechDesignError, ValueError):
    """A parameter, a type list or a problem file is malformed or out of range.

    Fix the named field so that it lies in the stated range (the message quotes the value you gave).
    """

    def __init__(self, field: str, value: object, allowed: str, hint: str = "") -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        msg = f"{field} = {_short(value)} is invalid: {allowed}."
        if hint:
            msg += f" {hint}"
        super().__init__(msg)


class ProblemFileError(MechDesignError):
    """A problem file cannot be read: missing, not TOML, or with an unknown layout.

    Check the path and the TOML syntax; docs/problem-files.md lists every table and key.
    """


class SolverError(MechDesignError):
    """The convex solver did not return an optimal solution.

    Try another solver (``--solver SCS``), a coarser discretisation, or ``verbose=True`` to see the
    solver's log.
    """


class InfeasibleProgramError(SolverError):
    """The screening program is infeasible: no menu satisfies the IC, IR and technology constraints.

    Check the outside options (``u0``) and the technology; with ``u0 = 0`` the null menu is always
    feasible, so infeasibility usually means inconsistent user-supplied outside options.
    """


class UnboundedProgramError(SolverError):
    """The screening program is unbounded: profit can grow without limit.

    This happens when the cost of quality does not grow faster than its value (returns to scale
    ``sigma + sigma_hat >= 1``); check the technology's exponents.
    """


class TimeLimitError(SolverError):
    """The user's explicit time limit (``time_limit=`` / ``--time-limit``) ran out before the solve finished.

    This is the only place where wall-clock time enters a result: every internal budget counts
    iterations. Raise the limit, use fewer types, or another IC strategy; the message says what was
    reached (round, IC pairs, best audited menu so far).
    """


class AuditError(MechDesignError):
    """A menu failed the independent IC/IR audit beyond its tolerance and is not reported as optimal.

    Tighten the solver tolerances, use ``ic="all"``, or try another solver; the message names the
    worst violation and the types involved.
    """


class MechDesignWarning(UserWarning):
    """Base class of every mechdesign warning."""


class SolverInaccurateWarning(MechDesignWarning):
    """The solver stopped at reduced accuracy (cvxpy status ``optimal_inaccurate``).

    The menu is returned with ``status = "optimal_inaccurate"``; check its audit before using it.
    """


class UncertifiedWarning(MechDesignWarning):
    """A menu passed the all-pairs audit but its optimality certificate does not hold.

    The result has ``status = "uncertified"``: the menu is incentive compatible and individually
    rational, but the Lagrangian bound is further from its profit than the stated tolerance (see
    ``result.certificate``). Use the default method (the exact structured solver for scalar types),
    ``ic="all"``, or tighter solver options.
    """


class DiscretisationWarning(MechDesignWarning):
    """A discretised distribution has cells of (numerically) negligible mass.

    Such types barely affect profit, so their items are pinned down only by the other types' IC
    constraints; use fewer cells or a distribution with full support.
    """


def _short(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
