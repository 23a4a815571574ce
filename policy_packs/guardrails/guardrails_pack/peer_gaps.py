"""Peer rules that look like one of our controls but are not claimed by any, and why (rendered in docs/controls.md).

A peer id is claimed only when the control gives the peer's verdict (`peer_ids`) or deliberately fails everything
the peer fails (`stricter_than`); these differ in a way that makes neither true.
"""

from __future__ import annotations

NOT_CLAIMED: dict[str, str] = {
    # Kubernetes (checked against the peers' own tests in tests/conformance where they have pod-level tests)
    "CKV_K8S_9": "requires an explicit readinessProbe; Knative's queue-proxy probes the user port itself "
                 "(`pod.liveness-probe`, `pod.any-probe` cover the rest)",
    "CKV_K8S_25": "fails any added capability, NET_BIND_SERVICE too, which both PSS profiles allow "
                  "(`pod.no-dangerous-caps`, `pod.restricted-capabilities`)",
    "CKV_K8S_31": "rejects a Localhost seccomp profile, which the restricted standard allows "
                  "(`pod.seccomp-runtime-default`)",
    "CKV_K8S_40": "requires runAsUser >= 10000 to be set; `pod.min-uid` accepts an unset UID",
    "CKV_K8S_41": "checks the `default` ServiceAccount object, not the pods (`pod.no-default-sa`)",
    "CKV_K8S_42": "checks RoleBindings to the `default` ServiceAccount, not the pods",
    "polaris:missingNetworkPolicy": "requires ingress and egress rules for every pod (`pod.network-policy` is "
                                    "ingress for every pod, `pod.confidential-egress` egress for confidential ones)",
    "kube-score:pod-networkpolicy": "requires ingress and egress policies for every pod (as above)",
    "polaris:sensitiveContainerEnvVar": "inspects env names/values and accepts secretKeyRef "
                                        "(`pod.no-secrets-in-env` forbids secretKeyRef)",
    "polaris:pullPolicyNotAlways": "wants the literal Always even for digest-pinned images (`img.pull-policy`)",
    # AWS Lambda (Checkov's Terraform and CloudFormation checks share these ids)
    "CKV_AWS_45": "Checkov's secret detectors (regexes and entropy) decide; `lam.no-secrets-in-env` uses its own "
                  "name/value rules, so verdicts differ on edge cases",
    "CKV_AWS_116": "requires a dead_letter_config; `lam.dlq-or-destination` also accepts an on-failure destination "
                   "(FunctionEventInvokeConfig)",
    "CKV_AWS_117": "requires a VPC for every function; `lam.in-vpc` requires it for confidential/restricted data "
                   "only (a VPC for public functions adds NAT cost and cold-start time, no protection)",
    "CKV_AWS_173": "fails a KMS key without environment variables and accepts any non-empty key; `lam.env-kms` "
                   "accepts the former and wants a key ARN",
    "CKV_AWS_272": "requires code signing for every function; `lam.code-signing` requires it in PCI scope (or with "
                   "require_everywhere) and for zip packages only (images are `dc.pci-signed-artifacts`)",
}
