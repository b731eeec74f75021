package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"gated.dev/gated/gerrit/gerrittest"
	"gated.dev/gated/scheduler"
)

// With stream-events configured and no webhook, events reach gated over
// the simulator's real SSH server.
func TestStreamEventsOverSSH(t *testing.T) {
	dir := t.TempDir()
	g, err := gerrittest.New(gerrittest.Options{Dir: filepath.Join(dir, "gerrit")})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	if err := g.CreateProject(ctx, gerrittest.Project{Name: "org/a", Files: map[string]string{".pipeline/argo-workflow.yaml": testWorkflow}}); err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600)
	sshPub, _ := ssh.NewPublicKey(pub)
	if err := g.AddSSHKey(gerrittest.GatedUser, sshPub); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(g.SSHAddr())
	known := filepath.Join(dir, "known_hosts")
	os.WriteFile(known, []byte(knownhosts.Line([]string{g.SSHAddr()}, g.HostKey())+"\n"), 0o600)
	p, _ := strconv.Atoi(port)

	cfg := Defaults()
	cfg.DataDir = filepath.Join(dir, "gated")
	cfg.Gerrit.URL = g.URL()
	cfg.Gerrit.ReconcileInterval = 0
	cfg.Gerrit.Stream = &StreamConfig{Host: host, Port: p, User: gerrittest.GatedUser, KeyFile: keyFile, KnownHostsFile: known}
	cfg.Executor.Kind = "sim"
	cfg.Projects = map[string]ProjectYAML{"org/a": {}}
	exec := scheduler.NewSim(scheduler.SimOptions{Duration: func(scheduler.Build) time.Duration { return 10 * time.Millisecond }})
	d, err := New(ctx, cfg, Options{Executor: exec, Logger: slog.New(slog.DiscardHandler), GerritPassword: g.Password(gerrittest.GatedUser)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	deadline := time.Now().Add(30 * time.Second)
	for g.StreamReaders() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("gated did not connect to stream-events")
		}
		time.Sleep(5 * time.Millisecond)
	}
	n, err := g.Upload(ctx, gerrittest.Upload{Project: "org/a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Review(n, gerrittest.Review{Account: gerrittest.AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}}); err != nil {
		t.Fatal(err)
	}
	for len(g.MergeOrder()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the change did not merge: events did not arrive over SSH")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
