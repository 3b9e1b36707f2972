"""The one contract every setting speaks: ``Problem.solve(SolveOptions) -> Result``.

* :class:`SolveOptions` holds every option of every setting with one set of defaults, declared once;
  a setting lists the options it honours (:attr:`Problem.options`) and :meth:`SolveOptions.check`
  refuses any other one that was set, naming the option and the setting (never silently ignored).
* :func:`decide_status` is the only place that turns a certificate into a status: ``"optimal"`` when
  the all-pairs audit passes and the certificate holds, ``"uncertified"`` otherwise (errors are
  exceptions, never statuses).
* :func:`resolve_options` is the only place that decides the options of a solve: the setting's defaults
  (``None`` fields, filled in by the setting: e.g. :data:`DEFAULT_IC`), under the problem file's ``[solve]``
  table (kept on the problem, ``problem.source["solve_defaults"]``), under the caller's options. Every
  ``Problem.solve`` is wrapped by :func:`resolves_options`, so Python, the CLI, plots and sweeps agree.
* :data:`CONTRACT_KEYS` are the keys of the JSON output contract (docs/architecture.md) that every result's
  ``to_dict`` carries; ``None`` where a setting has no such thing (e.g. no closed form).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Protocol, TypeVar

from mechdesign import _validate as V
from mechdesign.engine.audit import AUDIT_RTOL
from mechdesign.exceptions import ProblemSpecError

#: default number of cells for continuous type distributions (every setting)
DEFAULT_N = 200
#: the IC strategy of each setting's program when the user gives none (declared once, here): the single
#: model's conic program generates constraints from the audit, contractible and value-scale programs write
#: every pair (random task profiles bind far-apart pairs), the multi-model program uses local ICs (its
#: relaxation keeps single crossing)
DEFAULT_IC = {"single_model": "adaptive", "contractible": "adaptive", "value_scale": "adaptive", "multimodel": "local",
              "multidim": "adaptive"}
#: the options of the single-model conic program: given (by the file or the caller), ``method='auto'`` picks it
CONIC_OPTIONS = ("ic", "solver", "solver_options", "formulation", "polish")
#: the solver of every conic program when the user gives none
DEFAULT_SOLVER = "CLARABEL"
#: the JSON output contract: keys every result's ``to_dict()`` has
CONTRACT_KEYS = ("problem", "status", "profit", "surplus", "consumer_surplus", "menu", "binding", "audit",
                 "certificate", "solver", "analytic", "comparison", "options")
#: the status vocabulary (errors are exceptions)
STATUSES = ("optimal", "uncertified")
#: settings certified by an upper bound (multi-model, leader-fringe): the relative gap that counts as optimal
BOUND_GAP_RTOL = 1e-6
#: the largest number of types a solve may have; above it the problem is refused with a memory estimate
MAX_TYPES = 2_000_000


@dataclass(frozen=True)
class SolveOptions:
    """Options of ``Problem.solve``, one set for every setting (``None``: the setting's default).

    Parameters
    ----------
    n : int, optional
        Cells of a continuous type distribution (default :data:`DEFAULT_N`, or the problem file's).
    method : {'auto', 'structured', 'conic'}
        Single model: the exact structured solver or the conic program (``auto``: structured unless a
        conic option is given).
    ic : {'adaptive', 'all', 'local'}, optional
        IC strategy of the conic program.
    solver : str, optional
        cvxpy conic solver (default Clarabel).
    solver_options : dict, optional
        Passed to the solver.
    formulation : str, optional
        How the conic program writes the technology (setting-specific values).
    polish : bool, optional
        Single-model conic program: re-solve and refine (default True).
    time_limit : float, optional
        Seconds; a clear :class:`~mechdesign.exceptions.TimeLimitError` when they run out.
    verbose : bool
        Print the solver's log.
    compare : bool
        Compute the closed forms and the comparison where the setting has them.
    binding : {'auto', 'full', 'local'}
        Single model: compute the full set of tight IC pairs ('auto': up to 1,000 types).
    audit_rtol : float
        Tolerance of the all-pairs audit, relative to the largest gross payoff.
    """

    n: int | None = None
    method: str = "auto"
    ic: str | None = None
    solver: str | None = None
    solver_options: dict[str, object] | None = None
    formulation: str | None = None
    polish: bool | None = None
    time_limit: float | None = None
    verbose: bool = False
    compare: bool = True
    binding: str = "auto"
    audit_rtol: float = AUDIT_RTOL

    #: the value of each option when the user did not set it
    DEFAULTS: ClassVar[dict[str, Any]] = {"n": None, "method": "auto", "ic": None, "solver": None,
                                          "solver_options": None, "formulation": None, "polish": None,
                                          "time_limit": None, "verbose": False, "compare": True, "binding": "auto",
                                          "audit_rtol": AUDIT_RTOL}

    def __post_init__(self) -> None:
        if self.n is not None:
            object.__setattr__(self, "n", V.integer("n", self.n, 2, MAX_TYPES))
        if self.time_limit is not None:
            object.__setattr__(self, "time_limit", V.positive("time_limit", self.time_limit))
        V.one_of("method", self.method, ("auto", "structured", "conic"))
        V.one_of("binding", self.binding, ("auto", "full", "local"))
        object.__setattr__(self, "audit_rtol", V.positive("audit_rtol", self.audit_rtol))

    @classmethod
    def make(cls, options: SolveOptions | None = None, **kwargs: Any) -> SolveOptions:
        """Options from an object and/or keyword arguments (keywords win); unknown keywords are errors."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise ProblemSpecError(unknown[0], kwargs[unknown[0]], "is not a solve option; options: "
                                   + ", ".join(sorted(names)))
        base = options if options is not None else cls()
        return replace(base, **kwargs) if kwargs else base

    def given(self) -> dict[str, Any]:
        """The options set to something other than their default."""
        return {k: getattr(self, k) for k, d in self.DEFAULTS.items() if getattr(self, k) != d}

    def check(self, setting: str, honoured: tuple[str, ...]) -> None:
        """Refuse every option set by the user that the setting cannot honour."""
        for name, value in self.given().items():
            if name not in honoured:
                raise ProblemSpecError(
                    name, value, f"is not an option of the {setting} setting (it takes: {', '.join(honoured)})",
                    "Drop it.")


class Result(Protocol):
    """What every setting's result offers (see :data:`CONTRACT_KEYS`)."""

    options: Mapping[str, object]

    @property
    def status(self) -> str: ...

    @property
    def profit(self) -> float: ...

    def summary(self) -> str: ...

    def to_dict(self) -> dict[str, object]: ...


class Problem(Protocol):
    """What every setting's problem offers: a kind, a name, the options it honours and ``solve``."""

    kind: ClassVar[str]
    options: ClassVar[tuple[str, ...]]
    name: str
    source: dict[str, object]

    def solve(self, options: SolveOptions | None = None, /, **kwargs: Any) -> Result: ...


def decide_status(audit_passed: bool, certified: bool) -> str:
    """The status of a menu: ``"optimal"`` only when the audit passes and the certificate holds."""
    return "optimal" if audit_passed and certified else "uncertified"


def check_size(n: int, per_type_bytes: float, what: str, limit_bytes: float = 16e9) -> None:
    """Refuse a problem whose estimated memory exceeds ``limit_bytes``, with the estimate."""
    est = n * per_type_bytes
    if n > MAX_TYPES or est > limit_bytes:
        raise ProblemSpecError("n", n, f"needs about {est / 1e9:.1f} GB for {what} (at most {MAX_TYPES:,} types and "
                               f"{limit_bytes / 1e9:.0f} GB)", "Use fewer types.")


def file_options(problem: Problem) -> dict[str, Any]:
    """The problem file's ``[solve]`` table as solve options (empty for a problem built in Python).

    ``solve.n`` is not among them: the reader already made it the problem's own number of cells.
    """
    table = problem.source.get("solve_defaults", {}) if isinstance(problem.source, Mapping) else {}
    assert isinstance(table, Mapping)
    return {k: v for k, v in table.items() if k != "n" and k in problem.options}


def resolve_options(problem: Problem, options: SolveOptions | None = None, /, **kwargs: Any) -> SolveOptions:
    """The options of one solve: the setting's defaults, under the file's ``[solve]``, under the caller's.

    Parameters
    ----------
    problem : Problem
        Any setting's problem; its ``options`` are the options it honours and ``source`` holds the file's
        ``[solve]`` table.
    options : SolveOptions, optional
        The caller's options; ``kwargs`` override them (see :meth:`SolveOptions.make`).

    Returns
    -------
    SolveOptions
        The caller's options where given, else the file's; ``None`` fields take the setting's default.

    Raises
    ------
    ProblemSpecError
        An unknown option, or one the setting cannot honour (named as given).
    """
    caller = SolveOptions.make(options, **kwargs)
    caller.check(problem.kind, problem.options)
    given = caller.given()
    from_file = file_options(problem)
    if given.get("method") == "structured":  # the caller's exact solver: the file's conic options do not apply
        from_file = {k: v for k, v in from_file.items() if k not in CONIC_OPTIONS}
    elif "method" not in given and set(given) & set(CONIC_OPTIONS) and from_file.get("method") == "structured":
        del from_file["method"]  # the caller's conic options: the file's exact solver does not apply
    return SolveOptions.make(**{**from_file, **given})


R = TypeVar("R", bound=Result)
P = TypeVar("P", bound=Problem)


def resolves_options(solve: Callable[[P, SolveOptions], R]) -> Callable[..., R]:
    """Wrap a setting's ``solve(self, options)``: options resolved once (:func:`resolve_options`), and
    recorded on the result (``result.options``, the JSON's ``"options"``).

    The warnings of the solve are issued again from the wrapper, one frame up, so that they point at the
    caller's line as they did without it (the settings warn with ``stacklevel`` counted from ``solve``).
    """

    @functools.wraps(solve)
    def wrapper(self: P, options: SolveOptions | None = None, /, **kwargs: Any) -> R:
        resolved = resolve_options(self, options, **kwargs)
        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = solve(self, resolved)
        finally:
            for w in caught:
                warnings.warn(w.message, w.category, stacklevel=2)
        result.options = resolved.given()
        return result

    return wrapper
