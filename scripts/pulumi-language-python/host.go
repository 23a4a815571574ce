package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// userActionableExitCode: the executor exits with it after printing a message meant for the user;
// the engine is then told to bail without adding a second, generic error.
const userActionableExitCode = 32

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	execPath      string
	engineAddress string
}

func newLanguageHost(execPath, engineAddress string) *languageHost {
	return &languageHost{execPath: execPath, engineAddress: engineAddress}
}

// pythonOptions turns Pulumi.yaml / PulumiPolicy.yaml `runtime.options` into toolchain options.
// Unknown values fail closed with a message naming the option and what is allowed.
func pythonOptions(info *pulumirpc.ProgramInfo) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{
		Root:       info.GetRootDirectory(),
		ProgramDir: info.GetProgramDirectory(),
		Toolchain:  toolchain.Auto,
	}
	fields := map[string]*structpb.Value{}
	if info.GetOptions() != nil {
		fields = info.GetOptions().GetFields()
	}
	if v, ok := fields["virtualenv"]; ok {
		opts.Virtualenv = v.GetStringValue()
	}
	if v, ok := fields["toolchain"]; ok {
		switch v.GetStringValue() {
		case "pip":
			opts.Toolchain = toolchain.Pip
		case "poetry":
			opts.Toolchain = toolchain.Poetry
		case "uv":
			opts.Toolchain = toolchain.Uv
		default:
			return opts, fmt.Errorf("runtime option toolchain=%q in %s is not supported; allowed: pip, poetry, uv",
				v.GetStringValue(), opts.Root)
		}
	}
	if v, ok := fields["typechecker"]; ok && v.GetStringValue() != "" {
		// Type checking before the run is an upstream convenience this host does not implement; refuse
		// instead of silently skipping it.
		return opts, fmt.Errorf("runtime option typechecker=%q in %s is not supported by this language host",
			v.GetStringValue(), opts.Root)
	}
	return opts, nil
}

func (h *languageHost) resolveToolchain(ctx context.Context, info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	if info == nil {
		return nil, errors.New("request carries no program info")
	}
	opts, err := pythonOptions(info)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *languageHost) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	packages, err := h.requiredPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range packages {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: p.GetName(), Kind: p.GetKind(), Version: p.GetVersion(), Server: p.GetServer(),
		})
	}
	return resp, nil
}

func (h *languageHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	packages, err := h.requiredPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// InstallDependencies never downloads: the venv is prepared by `make setup` / scripts/install-pulumi-cli.sh.
// It only checks that the venv exists so that a missing one is reported clearly.
func (h *languageHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	if _, err := h.resolveToolchain(server.Context(), req.GetInfo()); err != nil {
		return err
	}
	return server.Send(&pulumirpc.InstallDependenciesResponse{
		Stdout: []byte("pulumi-language-python: dependencies are managed outside Pulumi (make setup); venv ok\n"),
	})
}

func (h *languageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, err := h.resolveToolchain(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	about, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: about.PythonExecutable,
		Version:    about.PythonVersion.String(),
		Metadata:   map[string]string{"toolchainVersion": about.ToolchainVersion.String()},
	}, nil
}

// Run executes the Pulumi program through the upstream executor script.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	tc, err := h.resolveToolchain(ctx, req.GetInfo())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	program := filepath.Join(req.GetInfo().GetProgramDirectory(), entry)

	args := []string{h.execPath}
	appendArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	appendArg("monitor", req.GetMonitorAddress())
	appendArg("engine", h.engineAddress)
	appendArg("project", req.GetProject())
	appendArg("root_directory", req.GetInfo().GetRootDirectory())
	appendArg("stack", req.GetStack())
	appendArg("pwd", req.GetPwd())
	appendArg("dry_run", strconv.FormatBool(req.GetDryRun()))
	appendArg("parallel", strconv.Itoa(int(req.GetParallel())))
	appendArg("organization", req.GetOrganization())
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	env, err := configEnv(req.GetConfig(), req.GetConfigSecretKeys())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	cmd.Env = append(baseEnv(cmd), env...)
	cmd.Dir = req.GetPwd()
	// The engine shows the language host's own stdout/stderr as program output.
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == userActionableExitCode {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run the Python executor: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// configEnv encodes stack config the way the Python SDK reads it (PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS).
func configEnv(config map[string]string, secretKeys []string) ([]string, error) {
	var env []string
	if config != nil {
		data, err := json.Marshal(config)
		if err != nil {
			return nil, fmt.Errorf("serialising stack config: %w", err)
		}
		env = append(env, "PULUMI_CONFIG="+string(data))
	}
	if secretKeys != nil {
		data, err := json.Marshal(secretKeys)
		if err != nil {
			return nil, fmt.Errorf("serialising secret config keys: %w", err)
		}
		env = append(env, "PULUMI_CONFIG_SECRET_KEYS="+string(data))
	}
	return env, nil
}

// baseEnv: toolchain commands carry an activated venv environment, or nil meaning "inherit".
func baseEnv(cmd *exec.Cmd) []string {
	if cmd.Env != nil {
		return cmd.Env
	}
	return os.Environ()
}
