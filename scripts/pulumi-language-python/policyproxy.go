package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// RunPlugin starts a Python CrossGuard policy pack (kind "analyzer").
//
// Python packs read the stack identity (PULUMI_PROJECT, PULUMI_STACK, PULUMI_DRY_RUN, PULUMI_CONFIG) from
// their environment at start-up, but the engine only sends it afterwards, in ConfigureStack. As upstream
// does, we therefore hand the engine a proxy analyzer first, start `python -m pulumi.policy` when
// ConfigureStack arrives (with those variables set), and forward every call to it.
func (h *languageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	if req.GetKind() != "analyzer" {
		return status.Errorf(codes.Unimplemented,
			"pulumi-language-python (serverless-guardrails build) runs only policy packs, not %q plugins", req.GetKind())
	}
	ctx := server.Context()
	tc, err := h.resolveToolchain(ctx, req.GetInfo())
	if err != nil {
		return err
	}
	if len(req.GetArgs()) == 0 {
		return errors.New("analyzer plugin started without the engine address argument")
	}

	out := &streamWriter{server: server}
	proxy := &policyProxy{
		toolchain:     tc,
		packDir:       req.GetInfo().GetProgramDirectory(),
		engineAddress: req.GetArgs()[0],
		extraEnv:      req.GetEnv(),
		out:           out,
		exited:        make(chan int, 1),
	}
	stopServing := make(chan bool, 1)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopServing,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterAnalyzerServer(srv, proxy)
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("starting the policy proxy: %w", err)
	}
	// The engine reads the analyzer's port from the first stdout line, exactly as for a plugin binary.
	if err := out.stdout([]byte(fmt.Sprintf("%d\n", handle.Port))); err != nil {
		return err
	}

	exitCode := 0
	select {
	case <-ctx.Done():
	case exitCode = <-proxy.exited:
	}
	proxy.stop()
	stopServing <- true
	<-handle.Done
	if ctx.Err() != nil {
		return nil
	}
	return server.Send(&pulumirpc.RunPluginResponse{
		Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitCode)}, //nolint:gosec // exit codes fit
	})
}

// streamWriter serialises sends on the RunPlugin stream (gRPC streams are not safe for concurrent Send).
type streamWriter struct {
	mu     sync.Mutex
	server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]
}

func (w *streamWriter) stdout(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
}

func (w *streamWriter) stderr(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
}

type policyProxy struct {
	pulumirpc.UnimplementedAnalyzerServer

	toolchain     toolchain.Toolchain
	packDir       string
	engineAddress string
	extraEnv      []string
	out           *streamWriter
	exited        chan int

	mu     sync.Mutex
	cmd    *exec.Cmd
	conn   *grpc.ClientConn
	client pulumirpc.AnalyzerClient
}

// start launches the pack once; stackEnv is empty when the engine never sent ConfigureStack.
func (p *policyProxy) start(stackEnv []string) (pulumirpc.AnalyzerClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		return p.client, nil
	}
	cmd, err := p.toolchain.ModuleCommand(context.Background(), "pulumi.policy", p.engineAddress, p.packDir)
	if err != nil {
		return nil, err
	}
	cmd.Env = append(append(baseEnv(cmd), p.extraEnv...), stackEnv...)
	cmd.Dir = p.packDir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting policy pack %s: %w", p.packDir, err)
	}
	p.cmd = cmd
	go p.pump(stderr, p.out.stderr)

	reader := bufio.NewReader(stdout)
	line, readErr := reader.ReadString('\n')
	port, convErr := strconv.Atoi(strings.TrimSpace(line))
	if readErr != nil || convErr != nil {
		_ = cmd.Process.Kill()
		code := waitCode(cmd)
		p.exited <- code
		return nil, fmt.Errorf("policy pack %s exited (code %d) before printing its port (got %q)",
			p.packDir, code, line)
	}
	go func() {
		p.pump(reader, p.out.stdout)
		p.exited <- waitCode(cmd)
	}()

	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(port),
		grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())
	if err != nil {
		return nil, fmt.Errorf("connecting to policy pack %s: %w", p.packDir, err)
	}
	p.conn = conn
	p.client = pulumirpc.NewAnalyzerClient(conn)
	return p.client, nil
}

func (p *policyProxy) pump(r io.Reader, send func([]byte) error) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_ = send(append([]byte(nil), buf[:n]...))
		}
		if err != nil {
			return
		}
	}
}

func waitCode(cmd *exec.Cmd) int {
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return exitErr.ExitCode()
		}
		return -1
	}
	return 0
}

func (p *policyProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		_ = p.conn.Close()
	}
	if p.cmd != nil && p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
	}
}

func (p *policyProxy) ensure() (pulumirpc.AnalyzerClient, error) { return p.start(nil) }

// Handshake is answered by the proxy; Python packs do not implement it and the engine accepts that.
func (p *policyProxy) Handshake(
	context.Context, *pulumirpc.AnalyzerHandshakeRequest,
) (*pulumirpc.AnalyzerHandshakeResponse, error) {
	return &pulumirpc.AnalyzerHandshakeResponse{}, nil
}

func (p *policyProxy) ConfigureStack(
	ctx context.Context, req *pulumirpc.AnalyzerStackConfigureRequest,
) (*pulumirpc.AnalyzerStackConfigureResponse, error) {
	env := []string{
		"PULUMI_PROJECT=" + req.GetProject(),
		"PULUMI_STACK=" + req.GetStack(),
		"PULUMI_DRY_RUN=" + strconv.FormatBool(req.GetDryRun()),
	}
	if req.GetOrganization() != "" {
		env = append(env, "PULUMI_ORGANIZATION="+req.GetOrganization())
	}
	configEntries, err := configEnv(req.GetConfig(), req.GetConfigSecretKeys())
	if err != nil {
		return nil, err
	}
	client, err := p.start(append(env, configEntries...))
	if err != nil {
		return nil, err
	}
	return client.ConfigureStack(ctx, req)
}

func (p *policyProxy) Analyze(ctx context.Context, req *pulumirpc.AnalyzeRequest) (*pulumirpc.AnalyzeResponse, error) {
	client, err := p.ensure()
	if err != nil {
		return nil, err
	}
	return client.Analyze(ctx, req)
}

func (p *policyProxy) AnalyzeStack(
	ctx context.Context, req *pulumirpc.AnalyzeStackRequest,
) (*pulumirpc.AnalyzeResponse, error) {
	client, err := p.ensure()
	if err != nil {
		return nil, err
	}
	return client.AnalyzeStack(ctx, req)
}

func (p *policyProxy) Remediate(
	ctx context.Context, req *pulumirpc.AnalyzeRequest,
) (*pulumirpc.RemediateResponse, error) {
	client, err := p.ensure()
	if err != nil {
		return nil, err
	}
	return client.Remediate(ctx, req)
}

func (p *policyProxy) GetAnalyzerInfo(ctx context.Context, req *emptypb.Empty) (*pulumirpc.AnalyzerInfo, error) {
	client, err := p.ensure()
	if err != nil {
		return nil, err
	}
	return client.GetAnalyzerInfo(ctx, req)
}

func (p *policyProxy) GetPluginInfo(ctx context.Context, req *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	client, err := p.ensure()
	if err != nil {
		return nil, err
	}
	return client.GetPluginInfo(ctx, req)
}

func (p *policyProxy) Configure(
	ctx context.Context, req *pulumirpc.ConfigureAnalyzerRequest,
) (*emptypb.Empty, error) {
	client, err := p.ensure()
	if err != nil {
		return nil, err
	}
	return client.Configure(ctx, req)
}

func (p *policyProxy) Cancel(ctx context.Context, req *emptypb.Empty) (*emptypb.Empty, error) {
	p.mu.Lock()
	client := p.client
	p.mu.Unlock()
	if client == nil {
		return &emptypb.Empty{}, nil
	}
	return client.Cancel(ctx, req)
}

