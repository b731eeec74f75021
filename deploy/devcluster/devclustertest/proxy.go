package devclustertest

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"gated.dev/gated/deploy/devcluster"
	"k8s.io/client-go/rest"
)

// Proxy is a TCP proxy to the cluster's API server that a test can cut, to
// take the API server away from one client (gated) while the cluster goes
// on.
type Proxy struct {
	t      testing.TB
	target string
	addr   string
	wg     sync.WaitGroup

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]bool
}

// NewProxy starts a proxy to c's API server, stopped when the test ends.
func NewProxy(t testing.TB, c *devcluster.Cluster) *Proxy {
	t.Helper()
	u, err := url.Parse(c.RESTConfig().Host)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, target: u.Host, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.Restore()
	t.Cleanup(func() {
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// RESTConfig is c's administrator configuration through the proxy.
func (p *Proxy) RESTConfig(c *devcluster.Cluster) *rest.Config {
	cfg := c.RESTConfig()
	cfg.Host = "https://" + p.addr
	return cfg
}

// Cut closes every proxied connection and stops listening: clients get
// "connection refused" until Restore, as from an API server that is down.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// Restore listens again, on the same address.
func (p *Proxy) Restore() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listen on %s: %v", p.addr, err)
	}
	p.ln, p.addr = ln, ln.Addr().String()
	p.wg.Add(1)
	go p.accept(ln)
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		in, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		if p.ln != ln { // cut meanwhile
			p.mu.Unlock()
			in.Close()
			out.Close()
			continue
		}
		p.conns[in], p.conns[out] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}
