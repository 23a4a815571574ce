"""Entry point the Pulumi CLI (or preflight's CrossGuard driver) runs: serve the guardrails pack over gRPC."""

import gc
import sys
from pathlib import Path

# The engine waits for the port (and then GetAnalyzerInfo) before it starts the program. What start-up allocates
# (modules, the settings models, the policies) lives as long as the pack, yet the collector ran ~40 times over it
# (~0.08 s of a ~0.75 s start, measured with gc.callbacks). Off until the policies exist; then they are frozen out
# of its sight and it collects as preflight's processes do (guardrails_core.collector).
gc.disable()

# The pack is not an installed package; make `guardrails_pack` importable from this directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from guardrails_core.collector import collect_less  # noqa: E402
from guardrails_pack.engine_config import keep_configure_stack_config  # noqa: E402
from guardrails_pack.pack import pack_arguments  # noqa: E402
from guardrails_pack.prediction_controls import warm_up_after_configure_stack  # noqa: E402
from guardrails_pack.speed import share_properties_conversion  # noqa: E402
from pulumi_policy import PolicyPack  # noqa: E402

share_properties_conversion()
keep_configure_stack_config()
warm_up_after_configure_stack()
arguments = pack_arguments()
collect_less()
gc.enable()
PolicyPack(**arguments)
