package merger

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gated.dev/gated/gitcredential"
	mt "gated.dev/gated/merger/mergertest"
)

// credentialServer serves the fixture's merger with build credentials
// required, and returns a URL with a credential for project, valid for an
// hour.
func credentialServer(t *testing.T, m *Merger, o GitServer) (srv *httptest.Server, key *gitcredential.Key) {
	t.Helper()
	key, err := gitcredential.New([]byte(strings.Repeat("s", gitcredential.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	o.Authorize = func(project, user, password string) error { return key.Verify(project, user, password, time.Now()) }
	srv = httptest.NewUnstartedServer(m.GitServer(o))
	srv.Config.ReadHeaderTimeout = time.Second // as gated's server (cmd/gated serveDaemon)
	srv.Config.IdleTimeout = 2 * time.Second
	srv.Start()
	return srv, key
}

func TestServeNeedsABuildCredential(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	res, err := f.m.Merge(t.Context(), request("refs/gated/gate/1", f.change(1, h.onBase, MergeIfNecessary)))
	if err != nil {
		t.Fatal(err)
	}
	head := res.Heads[f.project]
	srv, key := credentialServer(t, f.m, GitServer{})
	t.Cleanup(srv.Close)
	base := srv.URL + "/git/" + f.project
	hour := time.Now().Add(time.Hour)
	url := func(projects []string, expiry time.Time) string {
		u, err := key.URL(base, "gated-gate-1-1", projects, expiry)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	other, _ := gitcredential.New([]byte(strings.Repeat("o", gitcredential.KeySize)))
	forged, _ := other.URL(base, "gated-gate-1-1", []string{f.project}, hour)
	cases := []struct {
		name string
		url  string
		ok   bool
	}{
		{"the build's credential", url([]string{f.project}, hour), true},
		{"a credential for the build's whole state", url([]string{"org/lib", f.project}, hour), true},
		{"no credential", base, false},
		{"another project's credential", url([]string{"org/other"}, hour), false},
		{"an expired credential", url([]string{f.project}, time.Now().Add(-time.Second)), false},
		{"a credential from another key", forged, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mt.Git(t, dir, "init", "--quiet", "--bare")
			_, err := mt.TryGit(t.Context(), dir, nil, "-c", "credential.helper=", "fetch", "--quiet", tc.url, head)
			if (err == nil) != tc.ok {
				t.Errorf("fetch: %v; want success %v", err, tc.ok)
			}
		})
	}
	resp, err := http.Get(base + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("no credential: %s, WWW-Authenticate %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
}

// gitChildren counts the git upload-pack processes this test binary runs.
func gitChildren() int {
	self := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != self {
			continue
		}
		if cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); strings.Contains(string(cmd), "upload-pack") {
			n++
		}
	}
	return n
}

// TestServeUnderLoad is the bounded load test of /git: builds (with
// credentials) that send their headers or their body slowly, that stop
// reading the pack, and many that fetch at once, against a cap of 4 git
// processes. gated stays responsive, git processes stay under the cap,
// and everything ends by itself.
func TestServeUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test of about 15s")
	}
	f := newFixture(t)
	// A project whose pack (16 MiB of random bytes) overflows the socket
	// buffers, so that a client that does not read blocks git.
	big := "load/big"
	dir := projectDir(f.m.dir, big)
	work := t.TempDir()
	mt.Git(t, work, "init", "--quiet", "-b", "main")
	blob := make([]byte, 16<<20)
	rand.Read(blob)
	os.WriteFile(filepath.Join(work, "blob"), blob, 0o644)
	mt.Git(t, work, "add", "blob")
	mt.Git(t, work, "commit", "--quiet", "-m", "big")
	mt.Git(t, work, "clone", "--quiet", "--bare", work, dir)
	mt.Git(t, dir, "repack", "-a", "-d", "-q") // the pack is sent as stored, with no work
	head := mt.Git(t, dir, "rev-parse", "refs/heads/main")
	// A small project, which the fetching builds fetch.
	small := "load/small"
	smallWork := t.TempDir()
	mt.Git(t, smallWork, "init", "--quiet", "-b", "main")
	os.WriteFile(filepath.Join(smallWork, "README"), []byte("small\n"), 0o644)
	mt.Git(t, smallWork, "add", "README")
	mt.Git(t, smallWork, "commit", "--quiet", "-m", "small")
	mt.Git(t, smallWork, "clone", "--quiet", "--bare", smallWork, projectDir(f.m.dir, small))
	smallHead := mt.Git(t, smallWork, "rev-parse", "HEAD")

	const slots = 4
	o := GitServer{MaxProcesses: slots, QueueWait: 5 * time.Second, BodyTimeout: time.Second, IdleTimeout: time.Second, TotalTimeout: 20 * time.Second}
	srv, key := credentialServer(t, f.m, o)
	addr := srv.Listener.Addr().String()
	user, pass := key.Mint("gated-gate-1-1", []string{big, small}, time.Now().Add(time.Hour))
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	gs := srv.Config.Handler.(*gitServer)

	var sampled atomic.Int64 // the most git processes seen in /proc
	stopSampling := make(chan struct{})
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		for {
			if n := int64(gitChildren()); n > sampled.Load() {
				sampled.Store(n)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	var closedByServer, slowClients atomic.Int64
	var lastClose atomic.Int64 // the latest a slow client was closed, since start
	// closed waits until the server closes conn, and counts it.
	closed := func(group string, conn net.Conn, within time.Duration) {
		conn.SetReadDeadline(time.Now().Add(within))
		_, err := io.Copy(io.Discard, conn)
		var ne net.Error
		if err == nil || !(errors.As(err, &ne) && ne.Timeout()) {
			closedByServer.Add(1)
			if d := int64(time.Since(start)); d > lastClose.Load() {
				lastClose.Store(d)
			}
		} else {
			t.Errorf("a client that %s was not closed by the server within %s", group, within)
		}
	}
	// slow starts n clients of a group on raw connections: each sends what
	// send sends, then waits for the server to close its connection.
	slow := func(n int, group string, within time.Duration, send func(net.Conn)) {
		for range n {
			wg.Go(func() {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				slowClients.Add(1)
				send(conn)
				closed(group, conn, within)
			})
		}
	}
	request := "0032want " + head + "\n00000009done\n"
	post := fmt.Sprintf("POST /git/%s/git-upload-pack HTTP/1.1\r\nHost: gated\r\nAuthorization: %s\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: %d\r\n\r\n", big, auth, len(request))
	// 100 builds that send their body a byte at a time.
	slow(100, "sends its body slowly", 10*time.Second, func(conn net.Conn) {
		io.WriteString(conn, post)
		go func() {
			for i := range len(request) {
				if _, err := conn.Write([]byte{request[i]}); err != nil {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	})
	// 50 clients that never finish their headers.
	slow(50, "never finishes its headers", 10*time.Second, func(conn net.Conn) {
		fmt.Fprintf(conn, "GET /git/%s/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: gated\r\n", big)
	})
	// 20 builds that ask for the pack and stop reading it.
	slow(20, "stops reading", 15*time.Second, func(conn net.Conn) {
		io.WriteString(conn, post+request)
		time.Sleep(3 * time.Second) // not reading; git must not wait for it
	})
	// 40 builds fetching at once, each retrying on 503 as a build's fetch
	// step would.
	cloneURL, _ := key.URL(srv.URL+"/git/"+small, "gated-gate-1-1", []string{small}, time.Now().Add(time.Hour))
	var fetched, busy atomic.Int64
	var slowest atomic.Int64
	for range 40 {
		wg.Go(func() {
			began := time.Now()
			repo := t.TempDir()
			mt.Git(t, repo, "init", "--quiet", "--bare")
			for try := 0; try < 10; try++ {
				out, err := mt.TryGit(t.Context(), repo, nil, "-c", "credential.helper=", "fetch", "--quiet", cloneURL, smallHead)
				if err == nil {
					fetched.Add(1)
					break
				}
				if !strings.Contains(out+err.Error(), "503") {
					t.Errorf("fetch: %v %s", err, out)
					return
				}
				busy.Add(1)
				time.Sleep(time.Duration(200*(try+1)) * time.Millisecond)
			}
			if d := int64(time.Since(began)); d > slowest.Load() {
				slowest.Store(d)
			}
		})
	}
	// Meanwhile the endpoint answers: an advertisement within the queue
	// wait, or a 503 saying to come back.
	var probes, probeOK atomic.Int64
	var probeMax atomic.Int64
	stopProbing := make(chan struct{})
	probing := make(chan struct{})
	go func() {
		defer close(probing)
		client := &http.Client{Timeout: 10 * time.Second}
		for {
			req, _ := http.NewRequest("GET", srv.URL+"/git/"+big+"/info/refs?service=git-upload-pack", nil)
			req.Header.Set("Authorization", auth)
			began := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("probe: %v", err)
			} else {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				probes.Add(1)
				if resp.StatusCode == http.StatusOK {
					probeOK.Add(1)
				}
			}
			if d := int64(time.Since(began)); d > probeMax.Load() {
				probeMax.Store(d)
			}
			select {
			case <-stopProbing:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	wg.Wait()
	close(stopProbing)
	<-probing
	// Everything ends by itself: no git left, and the server closes.
	deadline := time.Now().Add(10 * time.Second)
	for gs.running.Load() > 0 || gitChildren() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d git processes still running after the clients are gone", gitChildren())
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stopSampling)
	<-sampling
	closing := make(chan struct{})
	go func() { srv.Close(); close(closing) }()
	select {
	case <-closing:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not close: a request is stuck")
	}
	elapsed := time.Since(start)
	t.Logf("%s: %d slow clients (%d closed by the server, the last %s after the start), %d of 40 fetches done (%d answers 503, slowest %s), %d probes (%d answered 200, slowest %s); git processes at most %d (counted) and %d (seen in /proc), cap %d",
		elapsed.Round(time.Millisecond), slowClients.Load(), closedByServer.Load(), time.Duration(lastClose.Load()).Round(time.Millisecond), fetched.Load(), busy.Load(), time.Duration(slowest.Load()).Round(time.Millisecond),
		probes.Load(), probeOK.Load(), time.Duration(probeMax.Load()).Round(time.Millisecond), gs.peak.Load(), sampled.Load(), slots)
	if gs.peak.Load() > slots || sampled.Load() > slots {
		t.Errorf("git processes went over the cap of %d: %d counted, %d seen", slots, gs.peak.Load(), sampled.Load())
	}
	if fetched.Load() != 40 {
		t.Errorf("%d of 40 fetches succeeded", fetched.Load())
	}
	if max := time.Duration(probeMax.Load()); max > o.QueueWait+5*time.Second || probeOK.Load() == 0 {
		t.Errorf("probes: slowest %s, %d of %d answered 200", max, probeOK.Load(), probes.Load())
	}
}
