package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
)

// cluster is a network of real `qrtn serve` processes on this host, for
// survival benchmarks that kill (SIGKILL) or drain (SIGTERM) an access
// node: eu-1 and eu-2 (region eu), us-1 (region us), and fwd-1 between
// them, each on fixed loopback ports so that a restarted node comes back
// where it was. The processes belong to the cluster: close kills them.
type cluster struct {
	dir, bin string
	stderr   io.Writer
	nodes    map[string]*procNode
}

// procNode is one node process.
type procNode struct {
	name, cfgPath, url string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the process exited
}

type clusterNode struct{ name, region, role string }

var clusterNodes = []clusterNode{{"eu-1", "eu", "access"}, {"eu-2", "eu", "access"}, {"us-1", "us", "access"}, {"fwd-1", "backbone", "forwarding"}}

// freePort returns a loopback port free now, for network ("tcp" or "udp").
func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startCluster writes the nodes' keys and configurations into a temporary
// directory and starts them.
func startCluster(ctx context.Context, stderr io.Writer, tune string) (*cluster, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "qrtn-cluster-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, bin: bin, stderr: stderr, nodes: map[string]*procNode{}}
	keys := map[string]handshake.KeyPair{}
	trunkPorts := map[string]int{}
	for _, n := range clusterNodes {
		if keys[n.name], err = handshake.LoadOrCreateKeyPair(filepath.Join(dir, n.name+".key"), rand.Reader); err != nil {
			c.close()
			return nil, err
		}
		if trunkPorts[n.name], err = freePort("udp"); err != nil {
			c.close()
			return nil, err
		}
	}
	secret := randomSecret()
	for _, n := range clusterNodes {
		httpPort, err := freePort("tcp")
		if err != nil {
			c.close()
			return nil, err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "name: %s\nregion: %s\nrole: %s\nhttp_addr: 127.0.0.1:%d\napi_key: APIcluster\napi_secret: %s\ndev: true\n",
			n.name, n.region, n.role, httpPort, secret)
		b.WriteString(tune)
		fmt.Fprintf(&b, "sfu:\n  udp_addr: 127.0.0.1:0\ntrunk:\n  listen: 127.0.0.1:%d\n  key_file: %s\n  peers:\n",
			trunkPorts[n.name], filepath.Join(dir, n.name+".key"))
		for _, o := range clusterNodes {
			// Every access node has a trunk to the forwarding node; the
			// node whose name sorts first dials.
			if o.name == n.name || (n.role == "access") == (o.role == "access") {
				continue
			}
			fmt.Fprintf(&b, "    - name: %s\n      region: %s\n      role: %s\n      public_key: %s\n", o.name, o.region, o.role, keys[o.name].Public)
			if n.name < o.name {
				fmt.Fprintf(&b, "      addr: 127.0.0.1:%d\n", trunkPorts[o.name])
			}
		}
		path := filepath.Join(dir, n.name+".yaml")
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			c.close()
			return nil, err
		}
		c.nodes[n.name] = &procNode{name: n.name, cfgPath: path, url: fmt.Sprintf("http://127.0.0.1:%d/", httpPort)}
	}
	for _, n := range clusterNodes {
		if err := c.start(ctx, n.name); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// clusterLogLevel is the nodes' log level: QRTN_CLUSTER_LOG, else warn.
func clusterLogLevel() string {
	if l := os.Getenv("QRTN_CLUSTER_LOG"); l != "" {
		return l
	}
	return "warn"
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// start runs a node's process and waits for its ready line.
func (c *cluster) start(ctx context.Context, name string) error {
	n := c.nodes[name]
	logf, err := os.OpenFile(filepath.Join(c.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, "serve", "--config", n.cfgPath, "--log-level", clusterLogLevel())
	cmd.Stderr = logf
	// The node dies with this process, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	done := make(chan struct{})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := sc.Scan() && strings.HasPrefix(sc.Text(), "node "+name+" ")
		ready <- ok
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	select {
	case ok := <-ready:
		if !ok {
			return fmt.Errorf("%s did not start (see %s)", name, logf.Name())
		}
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s did not start within 30 s (see %s)", name, logf.Name())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// signal sends sig to a node's process.
func (c *cluster) signal(name string, sig os.Signal) error {
	n := c.nodes[name]
	if n == nil {
		return fmt.Errorf("no node %q in the cluster", name)
	}
	n.mu.Lock()
	cmd := n.cmd
	n.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return fmt.Errorf("%s is not running", name)
	}
	return cmd.Process.Signal(sig)
}

// wait waits until a node's process exited, at most d.
func (c *cluster) wait(name string, d time.Duration) error {
	n := c.nodes[name]
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-time.After(d):
		return fmt.Errorf("%s still runs after %v", name, d)
	}
}

// restart starts a stopped node again and waits until every access node's
// scheduler sees it (its trunks and link state are up).
func (c *cluster) restart(ctx context.Context, name string) error {
	if err := c.wait(name, time.Minute); err != nil {
		return err
	}
	if err := c.start(ctx, name); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, o := range clusterNodes {
		if o.role != "access" || o.name == name {
			continue
		}
		for !c.offers(o.name, name) {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s's scheduler does not offer %s 30 s after its restart", o.name, name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

// offers: from's scheduler offers node to clients.
func (c *cluster) offers(from, node string) bool {
	resp, err := http.Get(c.nodes[from].url + "api/join?room=cluster-probe&name=probe")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode == 200 && strings.Contains(string(b), `"node":"`+node+`"`)
}

// close kills every node and removes the directory.
func (c *cluster) close() {
	var errs []error
	for name := range c.nodes {
		_ = c.signal(name, syscall.SIGKILL)
		errs = append(errs, c.wait(name, 10*time.Second))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(c.stderr, "cluster: %v\n", err)
	}
	if os.Getenv("QRTN_CLUSTER_KEEP") != "" {
		fmt.Fprintf(c.stderr, "cluster: the nodes' configurations and logs are in %s\n", c.dir)
		return
	}
	_ = os.RemoveAll(c.dir)
}
