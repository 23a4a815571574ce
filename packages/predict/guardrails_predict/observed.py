"""Observed figures a caller passes into the predictions (this library measures nothing itself).

`preflight observe` measures `ProvisionedConcurrencyUtilization` per function (CloudWatch, the `live` alias);
`preflight preview` hands the mean it found to `predict_services(observed_pc=...)`, and the Lambda cost then uses
it instead of the default assumption that traffic fills the provisioned instances first (pricing/lambda_cost.py).
The policy pack's budget controls price the same plan in their own process: preflight writes the same inputs to a
file named by `GUARDRAILS_OBSERVED_PC` (as `GUARDRAILS_PREVIOUS_STATE` names the previous state), so the gate and
the report use one figure.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from guardrails_predict.resources import PredictionInputError


@dataclass(frozen=True)
class ObservedPcUtilisation:
    """Mean share (0..1) of a function's provisioned instances in use over `window`, as of `measured_on`. It is read
    as a share of the provisioned concurrency the declaration states now."""

    utilisation: float
    window: str  # "<start ISO>/<end ISO>"
    measured_on: str  # the observation's date (observe.json generated_at)
    origin: str  # where it was read (e.g. out/observe/prod/observe.json)

    def __post_init__(self) -> None:
        if isinstance(self.utilisation, bool) or not isinstance(self.utilisation, int | float) \
                or not 0 <= self.utilisation <= 1:
            raise PredictionInputError(f"{self.origin}: provisioned-concurrency utilisation must be a share within "
                                       f"0..1, got {self.utilisation!r}")

    def share(self) -> Decimal:
        # 4 decimal places: CloudWatch's ratio at the precision a report shows (0.1 %), stable across float noise
        return Decimal(str(round(float(self.utilisation), 4)))

    def sentence(self) -> str:
        return (f"observed PC utilisation {float(self.share()) * 100:.1f}% ({self.window}, measured "
                f"{self.measured_on}, {self.origin})")


DEFAULT_PC_SOURCE = ("assumed: traffic fills the provisioned instances before any spills over (no observed "
                     "ProvisionedConcurrencyUtilization; run `preflight observe` to measure it)")


OBSERVED_PC_ENV = "GUARDRAILS_OBSERVED_PC"


def write_observed_pc(path: Path, observed: dict[str, ObservedPcUtilisation]) -> None:
    Path(path).write_text(json.dumps({name: asdict(pc) for name, pc in sorted(observed.items())}, indent=1) + "\n",
                          encoding="utf-8")


def load_observed_pc(path: Path) -> dict[str, ObservedPcUtilisation]:
    """The file `write_observed_pc` wrote; anything else is an error naming the file (the gate then fails closed)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        return {str(name): ObservedPcUtilisation(**entry) for name, entry in doc.items()}
    except OSError as exc:
        raise PredictionInputError(f"{path} ({OBSERVED_PC_ENV}): cannot read ({exc.strerror})") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise PredictionInputError(f"{path} ({OBSERVED_PC_ENV}): expected {{service: {{utilisation, window, "
                                   f"measured_on, origin}}}} ({exc})") from None


def observed_pc_from_env() -> dict[str, ObservedPcUtilisation] | None:
    path = os.environ.get(OBSERVED_PC_ENV)
    return load_observed_pc(Path(path)) if path else None
