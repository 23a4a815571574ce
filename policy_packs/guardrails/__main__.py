"""Entry point the Pulumi CLI (or preflight's CrossGuard driver) runs: serve the guardrails pack over gRPC."""

import sys
from pathlib import Path

# The pack is not an installed package; make `guardrails_pack` importable from this directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from guardrails_pack.engine_config import keep_configure_stack_config  # noqa: E402
from guardrails_pack.pack import pack_arguments  # noqa: E402
from guardrails_pack.prediction_controls import warm_up_after_configure_stack  # noqa: E402
from guardrails_pack.speed import share_properties_conversion  # noqa: E402
from pulumi_policy import PolicyPack  # noqa: E402

share_properties_conversion()
keep_configure_stack_config()
warm_up_after_configure_stack()
PolicyPack(**pack_arguments())
