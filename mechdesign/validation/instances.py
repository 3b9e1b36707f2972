"""The validation table's row (:class:`CheckResult`) and the seeded random technologies and task profiles that
the proposition checks share (:mod:`mechdesign.validation.validate`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechdesign.technology import CES, CESFineTuning, Technology, cobb_douglas

FloatArray = np.ndarray


@dataclass
class CheckResult:
    """One row of the validation table."""

    check: str
    claim: str
    instances: int
    max_error: float
    tolerance: float
    binding_agree: bool | None
    seconds: float
    note: str = ""

    @property
    def passed(self) -> bool:
        """Within tolerance, binding sets agreeing, and at least one instance checked (0 is no evidence)."""
        return (self.instances > 0 and bool(self.max_error <= self.tolerance)
                and (self.binding_agree is None or bool(self.binding_agree)))


def random_technologies(rng: np.random.Generator, n: int) -> list[Technology]:
    out = [cobb_douglas([0.3, 0.2], [1.0, 3.0], [0.25], [2.0])]
    while len(out) < n:
        J = int(rng.integers(1, 4))
        a = rng.uniform(0.2, 1.0, J)
        sigma = float(rng.uniform(0.25, 0.65))
        sh = float(rng.uniform(0.05, 0.9) * (1 - sigma) * 0.9)
        rho = float(rng.choice([-1.0, -0.3, 0.0, 0.4]))
        out.append(Technology(CES(a / a.sum(), rho), sigma, rng.uniform(0.2, 5.0, J),
                              CESFineTuning(CES(np.array([1.0]), 0.0, "a"), sh, rng.uniform(0.2, 5.0, 1))))
    return out


def random_profiles(rng: np.random.Generator, T: int) -> tuple[FloatArray, FloatArray]:
    mu = rng.uniform(0.2, 1.0, T)
    return rng.uniform(0.05, 1.2, T), mu / mu.sum()
