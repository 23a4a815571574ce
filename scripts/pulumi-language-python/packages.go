package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// listPluginsScript prints, as JSON, the pulumi-plugin.json of every installed distribution that ships one.
// This is how Python packages such as pulumi_kubernetes declare the provider plugin (and version) they need.
const listPluginsScript = `
import importlib.metadata as md, json, sys
found = []
for dist in md.distributions():
    for f in dist.files or []:
        if f.name == "pulumi-plugin.json" and f.parent.name and "/" not in str(f.parent):
            try:
                found.append(json.loads(f.read_text()))
            except (OSError, ValueError) as exc:
                sys.stderr.write(f"unreadable {f.locate()}: {exc}\n")
json.dump(found, sys.stdout)
`

type pluginManifest struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

// requiredPackages lists the resource plugins declared by the packages installed in the program's venv.
func (h *languageHost) requiredPackages(
	ctx context.Context, info *pulumirpc.ProgramInfo,
) ([]*pulumirpc.PackageDependency, error) {
	tc, err := h.resolveToolchain(ctx, info)
	if err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", listPluginsScript)
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing pulumi-plugin.json files in the Python environment: %w: %s", err, stderr.String())
	}
	var manifests []pluginManifest
	if err := json.Unmarshal(out, &manifests); err != nil {
		return nil, fmt.Errorf("parsing plugin list from Python: %w", err)
	}
	seen := map[string]bool{}
	var packages []*pulumirpc.PackageDependency
	for _, m := range manifests {
		if !m.Resource || m.Name == "" {
			continue
		}
		version := strings.TrimPrefix(m.Version, "v")
		key := m.Name + "@" + version
		if seen[key] {
			continue
		}
		seen[key] = true
		packages = append(packages, &pulumirpc.PackageDependency{
			Name: m.Name, Kind: "resource", Version: version, Server: m.Server,
		})
	}
	return packages, nil
}

