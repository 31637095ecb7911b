// Package weaviateserver runs a Weaviate server binary on loopback ports,
// single-node, for the integration tests and the scale measurement of
// package similarity/weaviate. The binary is built by .ci/run (see
// EnvBinary); nothing is downloaded here.
package weaviateserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// EnvBinary is the environment variable that holds the path of the
// weaviate-server binary.
const EnvBinary = "PMLM_WEAVIATE_SERVER"

// Server is a running Weaviate server.
type Server struct {
	// Bin is the binary and DataDir the persistence directory.
	Bin, DataDir string
	// Addr is the REST address and GRPCAddr the gRPC address, both on
	// 127.0.0.1.
	Addr, GRPCAddr string
	// Log receives the server's output (nil: discarded).
	Log io.Writer

	ports [6]int
	cmd   *exec.Cmd
	done  chan error
}

// freePortPairs returns n pairs of consecutive loopback ports (p, p+1)
// that were free a moment ago: the server derives the port of a peer's
// internal RPC from its Raft port plus one (and the data port from the
// gossip port plus one), so each pair must be consecutive.
func freePortPairs(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for tries := 0; len(out) < 2*n; tries++ {
		if tries == 100 {
			return nil, errors.New("no two consecutive free ports found")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		p := l.Addr().(*net.TCPAddr).Port
		next, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		if err != nil {
			continue
		}
		ls = append(ls, next)
		out = append(out, p, p+1)
	}
	return out, nil
}

// Start starts bin on free loopback ports with its data in dataDir and
// waits until it is ready or ctx is done.
func Start(ctx context.Context, bin, dataDir string, log io.Writer) (*Server, error) {
	p, err := freePortPairs(3)
	if err != nil {
		return nil, fmt.Errorf("weaviateserver: ports: %w", err)
	}
	s := &Server{Bin: bin, DataDir: dataDir, Log: log}
	copy(s.ports[:], p)
	// REST and gRPC, gossip and data, Raft and Raft's internal RPC.
	s.Addr = "127.0.0.1:" + strconv.Itoa(s.ports[0])
	s.GRPCAddr = "127.0.0.1:" + strconv.Itoa(s.ports[1])
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// start runs the binary on s's ports and data directory.
func (s *Server) start(ctx context.Context) error {
	if s.cmd != nil {
		return errors.New("weaviateserver: already running")
	}
	// The settings that make the server single-node and loopback-only:
	// without them it advertises a non-loopback address and dies.
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"PERSISTENCE_DATA_PATH=" + s.DataDir,
		"AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true",
		"DEFAULT_VECTORIZER_MODULE=none",
		"CLUSTER_HOSTNAME=node1", "CLUSTER_IN_LOCALHOST=true",
		"CLUSTER_BIND_ADDR=127.0.0.1", "CLUSTER_ADVERTISE_ADDR=127.0.0.1",
		"CLUSTER_GOSSIP_BIND_PORT=" + strconv.Itoa(s.ports[2]),
		"CLUSTER_DATA_BIND_PORT=" + strconv.Itoa(s.ports[3]),
		"RAFT_PORT=" + strconv.Itoa(s.ports[4]),
		"RAFT_INTERNAL_RPC_PORT=" + strconv.Itoa(s.ports[5]),
		"RAFT_BOOTSTRAP_EXPECT=1", "RAFT_JOIN=node1",
		"GRPC_PORT=" + strconv.Itoa(s.ports[1]),
		"DISABLE_TELEMETRY=true", "GO_PROFILING_DISABLE=true",
		"LOG_LEVEL=warning", "QUERY_DEFAULTS_LIMIT=100",
	}
	cmd := exec.Command(s.Bin, "--host", "127.0.0.1", "--port", strconv.Itoa(s.ports[0]), "--scheme", "http")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = s.Log, s.Log
	if s.Log == nil {
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("weaviateserver: start %s: %w", s.Bin, err)
	}
	s.cmd = cmd
	s.done = make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return err
	}
	return nil
}

// waitReady polls /v1/.well-known/ready until it answers 200.
func (s *Server) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + s.Addr + "/v1/.well-known/ready"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("weaviateserver: the server exited before it was ready: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("weaviateserver: not ready at %s: %w", s.Addr, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 30 s) and waits for
// it to exit.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	defer func() { s.cmd = nil }()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return nil
}

// Restart stops the server and starts it again on the same ports and data
// directory.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start(ctx)
}

// Running tells whether the server process is running.
func (s *Server) Running() bool { return s.cmd != nil }

// PID is the server process's ID (0 when it is not running), for reading
// its memory use.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
