# shellcheck shell=bash
# Offline-safe environment for the Pulumi CLI built by scripts/install-pulumi-cli.sh.
# Source it:  . scripts/pulumi-env.sh
# Why each variable: nothing may reach the network at run time, and nothing may touch a real cluster.
_guardrails_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

export PULUMI_HOME="${GUARDRAILS_PULUMI_HOME:-$_guardrails_repo/.pulumi-home}"  # plugin cache, credentials
export PULUMI_SKIP_UPDATE_CHECK=true                                         # no version check call
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true                      # never download plugins
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"               # must be set, may be empty
export KUBECONFIG=/dev/null                                                  # render mode only, no cluster
# Python policy packs without a virtualenv option run on this interpreter (it has pulumi-policy).
export PULUMI_PYTHON_CMD="${PULUMI_PYTHON_CMD:-$_guardrails_repo/.venv/bin/python}"
case ":$PATH:" in
  *":$_guardrails_repo/.tools/bin:"*) ;;
  *) export PATH="$_guardrails_repo/.tools/bin:$PATH" ;;
esac
unset _guardrails_repo
