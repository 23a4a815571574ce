"""The cyclic garbage collector's settings for our processes whose start-up state lives as long as they do:
preflight, the program child and the policy pack's process."""

from __future__ import annotations

import gc

# Allocations between two young-generation collections while a large plan is built (or analysed). The Pulumi SDK
# keeps ~100 futures and Outputs alive per resource until the program ends (the plan's records, once built, live as
# long), so under the default (700) the cyclic collector ran thousands of times over an ever larger live heap that
# it could not free: about 40% of a 500-service program run (issue 17); in the pack, a 500-service AnalyzeStack
# (2,252 resources converted, proxied and predicted at once) ran ~30% longer under the default. Reference counting
# still frees everything else at once, and a collection still runs every GC_YOUNG_THRESHOLD allocations, so memory
# stays bounded.
GC_YOUNG_THRESHOLD = 50_000


def collect_less(oldest_threshold: int = 100) -> None:
    """What is loaded by now (SDKs, providers' modules, the pack's policies) lives as long as the process, so the
    collector stops scanning it, and young objects are collected every GC_YOUNG_THRESHOLD allocations.
    `oldest_threshold`: collections of the middle generation between two of the oldest."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, oldest_threshold)
