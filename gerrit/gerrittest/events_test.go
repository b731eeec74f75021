package gerrittest

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// receiver is a webhook endpoint that refuses the first posts.
type receiver struct {
	mu      sync.Mutex
	refuse  int
	posts   []*http.Request
	bodies  []string
	arrived chan struct{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse > 0 {
		r.refuse--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.posts = append(r.posts, req)
	r.bodies = append(r.bodies, string(b))
	w.WriteHeader(http.StatusAccepted)
	r.arrived <- struct{}{}
}

func TestWebhookDelivery(t *testing.T) {
	rcv := &receiver{refuse: 2, arrived: make(chan struct{}, 100)}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	s := start(t, Options{}, Project{Name: "org/project"})
	s.SetWebhook(Webhook{URL: hook.URL + "/events", Secret: "shh", SigningKey: "key", Events: []string{"patchset-created"}, RetryInterval: time.Millisecond})
	mustUpload(t, s, Upload{Project: "org/project"})
	select {
	case <-rcv.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook post")
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	req, body := rcv.posts[0], rcv.bodies[0]
	mac := hmac.New(sha256.New, []byte("key"))
	mac.Write([]byte(body))
	checks := map[string]bool{
		"content type":       req.Header.Get("Content-Type") == "application/json; charset=utf-8",
		"origin":             req.Header.Get("X-Origin-Url") == s.URL(),
		"secret":             req.Header.Get("X-Gated-Secret") == "shh",
		"signature":          req.Header.Get("X-Gated-Signature-256") == "sha256="+hex.EncodeToString(mac.Sum(nil)),
		"patchset-created":   strings.Contains(body, `"type":"patchset-created"`),
		"project as object":  strings.Contains(body, `"project":{"name":"org/project"}`),
		"only the one event": len(rcv.posts) == 1,
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("webhook post: %s wrong: %v\n%s", what, req.Header, body)
		}
	}
	eventually(t, "the delivery to be counted", func() bool {
		delivered, dropped := s.WebhookStats()
		return delivered == 1 && dropped == 0
	})
}

func TestWebhookDropsAfterMaxTries(t *testing.T) {
	rcv := &receiver{refuse: 3, arrived: make(chan struct{}, 100)}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	s := start(t, Options{}, Project{Name: "p"})
	s.SetWebhook(Webhook{URL: hook.URL, MaxTries: 2, RetryInterval: time.Millisecond, Events: []string{"patchset-created"}})
	mustUpload(t, s, Upload{Project: "p"}) // refused twice: dropped
	mustUpload(t, s, Upload{Project: "p"}) // refused once, then taken
	<-rcv.arrived
	eventually(t, "one delivery and one drop", func() bool {
		delivered, dropped := s.WebhookStats()
		return delivered == 1 && dropped == 1
	})
	s.SetWebhook(Webhook{})
	if delivered, _ := s.WebhookStats(); delivered != 0 {
		t.Errorf("stats after removing the webhook: %d", delivered)
	}
}

func TestSubscribe(t *testing.T) {
	s := start(t, Options{}, Project{Name: "p"})
	ctx, cancel := context.WithCancel(context.Background())
	events := s.Subscribe(ctx)
	n := mustUpload(t, s, Upload{Project: "p"})
	mustReview(t, s, n, Review{Account: AliceUser, Labels: map[string]int{"Code-Review": 1}})
	var types []string
	for len(types) < 3 {
		e := <-events
		types = append(types, e.Type)
		if e.Type != "ref-updated" && e.Change != n {
			t.Errorf("%s for change %d, want %d", e.Type, e.Change, n)
		}
	}
	if strings.Join(types, ",") != "ref-updated,patchset-created,comment-added" {
		t.Errorf("events %v", types)
	}
	cancel()
	for range events {
	}
}

func TestSubscriberDropsWhenFarBehind(t *testing.T) {
	h := newHub()
	sub := h.subscribe(2)
	for i := 0; i < 3; i++ {
		h.publish(Event{Type: "x"})
	}
	h.publish(Event{Type: "after"})
	stop := make(chan struct{})
	close(stop)
	var got []string
	for {
		e, ok := sub.next(stop)
		if !ok {
			break
		}
		got = append(got, e.Type)
	}
	if strings.Join(got, ",") != "dropped-output,after" {
		t.Errorf("got %v, want dropped-output then the newer event", got)
	}
}

// sshKey makes a key pair: the signer and the private key file in
// OpenSSH format.
func sshKey(t *testing.T, dir string) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return signer, file
}

func TestStreamEventsWithTheSystemSSH(t *testing.T) {
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("no ssh client: ", err)
	}
	s := start(t, Options{}, Project{Name: "p"})
	dir := t.TempDir()
	signer, keyFile := sshKey(t, dir)
	if err := s.AddSSHKey(GatedUser, signer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(s.SSHAddr())
	knownHosts := filepath.Join(dir, "known_hosts")
	writeFile(t, knownHosts, "[127.0.0.1]:"+port+" "+string(ssh.MarshalAuthorizedKey(s.HostKey())))
	cmd := exec.Command(sshPath, "-F", "none", "-p", port, "-i", keyFile, "-o", "UserKnownHostsFile="+knownHosts,
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		GatedUser+"@"+host, "gerrit", "stream-events", "-s", "patchset-created")
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	eventually(t, "ssh to start the stream", func() bool { return s.StreamReaders() == 1 })
	n := mustUpload(t, s, Upload{Project: "p"})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the stream: %v (%s)", err, stderr.String())
	}
	var e struct {
		Type   string
		Change struct{ Number int }
	}
	if err := json.Unmarshal([]byte(line), &e); err != nil || e.Type != "patchset-created" || e.Change.Number != n {
		t.Errorf("first line %q (%v), want patchset-created of change %d", line, err, n)
	}
}

func TestSSHCommands(t *testing.T) {
	s := start(t, Options{}, Project{Name: "p"})
	signer, _ := sshKey(t, t.TempDir())
	if err := s.AddSSHKey(DevUser, signer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	client, err := ssh.Dial("tcp", s.SSHAddr(), &ssh.ClientConfig{
		User: DevUser, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(s.HostKey()),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	tests := []struct {
		command, out string
		status       int
	}{
		{"gerrit version", "gerrit version 3.10.0\n", 0},
		{"gerrit stream-events", "fatal: stream-events not permitted\n", 1},
		{"gerrit stream-events --bogus", "fatal: \"--bogus\" is not a valid option\n", 1},
		{"ls /", "fatal: \"ls /\": not a Gerrit command\n", 1},
	}
	for _, tt := range tests {
		sess, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := sess.CombinedOutput(tt.command)
		status := 0
		if ee, ok := err.(*ssh.ExitError); ok {
			status = ee.ExitStatus()
		} else if err != nil {
			t.Fatalf("%s: %v", tt.command, err)
		}
		if string(out) != tt.out || status != tt.status {
			t.Errorf("%s: %q exit %d, want %q exit %d", tt.command, out, status, tt.out, tt.status)
		}
	}
}
