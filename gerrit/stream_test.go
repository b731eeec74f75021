package gerrit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"gated.dev/gated/gerrit/gerrittest"
)

// eventually waits until cond holds, failing the test after a deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sshSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// streaming runs StreamEvents until the test ends and returns the events it
// delivers.
func streaming(t *testing.T, cfg StreamConfig) <-chan Event {
	t.Helper()
	events := make(chan Event, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- StreamEvents(ctx, cfg, func(_ context.Context, e Event) error {
			events <- e
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("StreamEvents returned %v, want context.Canceled", err)
		}
	})
	return events
}

// next waits for the next event of one of the types.
func next(t *testing.T, events <-chan Event, types ...string) Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			for _, typ := range types {
				if e.Type == typ {
					return e
				}
			}
		case <-timeout:
			t.Fatalf("no %v event", types)
		}
	}
}

func streamConfig(s *gerrittest.Server, user string, signer ssh.Signer, log *slog.Logger) StreamConfig {
	return StreamConfig{
		Addr: s.SSHAddr(), User: user, Signer: signer, HostKeyCallback: ssh.FixedHostKey(s.HostKey()),
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, KeepAlive: time.Second, Logger: log,
	}
}

func TestStreamEventsReconnects(t *testing.T) {
	s := sim(t)
	signer := sshSigner(t)
	if err := s.AddSSHKey(gerrittest.GatedUser, signer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	log, logs := testLogger()
	reconnected := make(chan struct{}, 10)
	cfg := streamConfig(s, gerrittest.GatedUser, signer, log)
	cfg.Reconnected = func() {
		select {
		case reconnected <- struct{}{}:
		default:
		}
	}
	events := streaming(t, cfg)
	eventually(t, "the stream to start", func() bool { return s.StreamReaders() == 1 })

	n := upload(t, s, gerrittest.Upload{})
	if e := next(t, events, "patchset-created"); e.ChangeNumber() != n || e.PatchSet.Number != 1 || e.Actor.Username != "dev" {
		t.Errorf("patchset-created: %+v", e)
	}

	s.DisconnectStreams()
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnection")
	}
	eventually(t, "the stream to restart", func() bool { return s.StreamReaders() == 1 })
	review(t, s, n, gerrittest.AliceUser, map[string]int{"Workflow": 1})
	e := next(t, events, "comment-added")
	if e.ChangeNumber() != n || len(e.Approvals) != 3 || !e.Approvals[2].Changed() || e.Approvals[2].Label() != "Workflow" {
		t.Errorf("comment-added after reconnecting: %+v", e)
	}
	if !strings.Contains(logs.String(), "reconnecting after a wait") {
		t.Errorf("the disconnection was not logged:\n%s", logs)
	}
}

func TestStreamEventsFiltersTypes(t *testing.T) {
	s := sim(t)
	signer := sshSigner(t)
	if err := s.AddSSHKey(gerrittest.GatedUser, signer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	cfg := streamConfig(s, gerrittest.GatedUser, signer, slog.New(slog.DiscardHandler))
	cfg.Types = []string{"comment-added"}
	events := streaming(t, cfg)
	eventually(t, "the stream to start", func() bool { return s.StreamReaders() == 1 })
	n := upload(t, s, gerrittest.Upload{})
	review(t, s, n, gerrittest.AliceUser, map[string]int{"Code-Review": 1})
	if e := <-events; e.Type != "comment-added" {
		t.Errorf("first event %s, want only comment-added", e.Type)
	}
}

func TestStreamEventsRefusals(t *testing.T) {
	s := sim(t)
	signer := sshSigner(t)
	if err := s.AddSSHKey(gerrittest.AliceUser, signer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*StreamConfig)
		log  string
	}{
		{"an account without the Stream Events capability", func(*StreamConfig) {}, "stream-events not permitted"},
		{"an unknown key", func(c *StreamConfig) { c.Signer = sshSigner(t) }, "unable to authenticate"},
		{"a host key that is not Gerrit's", func(c *StreamConfig) { c.HostKeyCallback = ssh.FixedHostKey(sshSigner(t).PublicKey()) }, "host key mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := testLogger()
			cfg := streamConfig(s, gerrittest.AliceUser, signer, log)
			tt.mod(&cfg)
			events := streaming(t, cfg)
			eventually(t, "the refusal to be logged", func() bool { return strings.Contains(logs.String(), tt.log) })
			upload(t, s, gerrittest.Upload{})
			select {
			case e := <-events:
				t.Errorf("got event %s", e.Type)
			default:
			}
		})
	}
}

func TestStreamConfigRequiresKeysAndHostKeys(t *testing.T) {
	signer := sshSigner(t)
	tests := []struct {
		name string
		cfg  StreamConfig
		want string
	}{
		{"no address", StreamConfig{User: "gated"}, "addr and user"},
		{"no key", StreamConfig{Addr: "h:29418", User: "gated"}, "no key"},
		{"no host key", StreamConfig{Addr: "h:29418", User: "gated", Signer: signer}, "no host key"},
		{"unreadable key", StreamConfig{Addr: "h:29418", User: "gated", KeyFile: "/nonexistent"}, "no such file"},
	}
	for _, tt := range tests {
		err := StreamEvents(context.Background(), tt.cfg, func(context.Context, Event) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestStreamReaderSkipsBadLines(t *testing.T) {
	log, logs := testLogger()
	var got []string
	st := &streamer{log: log, sink: func(_ context.Context, e Event) error {
		got = append(got, e.Type)
		if e.Type == "refused" {
			return errors.New("inbox full")
		}
		return nil
	}}
	input := `{"type":"a"}` + "\n\n" + `not json` + "\n" + `{"type":"refused"}` + "\n" +
		`{"type":"b","comment":"` + strings.Repeat("x", 100) + `"}` + "\n" + `{"type":"c"}`
	n, err := st.readLimited(context.Background(), strings.NewReader(input), 64)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a,refused,c" || n != 4 {
		t.Errorf("delivered %v (%d lines), want a,refused,c from 4 lines", got, n)
	}
	for _, want := range []string{"not an event", "line too long", "lost until the next reconcile"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestReadLine(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("short\n"+strings.Repeat("y", 50)+"\nlast"), 16)
	var lines []string
	for {
		line, err := readLine(br, 20)
		switch {
		case errors.Is(err, errLineTooLong):
			lines = append(lines, "<too long>")
			continue
		case err != nil && !errors.Is(err, io.EOF):
			t.Fatal(err)
		}
		lines = append(lines, string(line))
		if err != nil {
			break
		}
	}
	if got := strings.Join(lines, "|"); got != "short|<too long>|last" {
		t.Errorf("lines %q", got)
	}
}

// TestStreamEventsWithKeyAndKnownHostsFiles configures the reader as the
// daemon does: a key file and a known_hosts file.
func TestStreamEventsWithKeyAndKnownHostsFiles(t *testing.T) {
	s := sim(t)
	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile, knownHosts := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddSSHKey(gerrittest.GatedUser, signer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(s.SSHAddr())}, s.HostKey())
	if err := os.WriteFile(knownHosts, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	events := streaming(t, StreamConfig{
		Addr: s.SSHAddr(), User: gerrittest.GatedUser, KeyFile: keyFile, KnownHostsFile: knownHosts,
		MinBackoff: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	eventually(t, "the stream to start", func() bool { return s.StreamReaders() == 1 })
	n := upload(t, s, gerrittest.Upload{})
	if e := next(t, events, "patchset-created"); e.ChangeNumber() != n {
		t.Errorf("event %+v", e)
	}
}
