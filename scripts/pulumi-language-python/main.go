// Command pulumi-language-python is a minimal Python language host for the Pulumi CLI.
//
// Why it exists: the upstream language host lives in the nested Go module
// github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3, which the Go module proxy reachable
// from this project's machines does not serve, so it cannot be built offline. Everything that does the
// real work is upstream code: the engine (the `pulumi` CLI), the Python executor script
// `pulumi-language-python-exec` and the toolchain/venv logic (sdk/v3/python/toolchain) come from the same
// sdk/v3 release as the CLI. This host only wires them together, covering what `pulumi preview`, `up`,
// `destroy` and `--policy-pack` with a Python CrossGuard pack need: Run, RunPlugin (analyzer),
// GetRequiredPackages, GetPluginInfo, About, InstallDependencies (validation only).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is stamped at build time (-X main.version=...) with the CLI version it was built against.
var version = "0.0.0-dev"

// executorSuffix: upstream convention, the executor script sits next to the host binary.
const executorSuffix = "-exec"

func main() {
	flags := flag.NewFlagSet("pulumi-language-python", flag.ContinueOnError)
	// Flags the engine may pass to every plugin; accepted so that they do not break argument parsing.
	_ = flags.String("tracing", "", "tracing endpoint (ignored)")
	_ = flags.String("root", "", "project root (the engine sends it in each request too)")
	_ = flags.Bool("logtostderr", false, "ignored")
	_ = flags.Bool("logflow", false, "ignored")
	_ = flags.Int("v", 0, "ignored")
	executor := flags.String("use-executor", "", "path of pulumi-language-python-exec (default: next to this binary)")
	if err := flags.Parse(os.Args[1:]); err != nil {
		fatal("bad arguments: %v", err)
	}
	engineAddress := ""
	if flags.NArg() > 0 {
		engineAddress = flags.Arg(0)
	}

	execPath := *executor
	if execPath == "" {
		self, err := os.Executable()
		if err != nil {
			fatal("cannot locate own executable: %v", err)
		}
		if resolved, err := filepath.EvalSymlinks(self); err == nil {
			self = resolved
		}
		execPath = self + executorSuffix
	}
	if _, err := os.Stat(execPath); err != nil {
		fatal("missing executor %s (install pulumi-language-python-exec next to this binary): %v", execPath, err)
	}

	host := newLanguageHost(execPath, engineAddress)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fatal("could not start language host RPC server: %v", err)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fatal("language host RPC stopped serving: %v", err)
	}
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: "+format+"\n", args...)
	os.Exit(1)
}
