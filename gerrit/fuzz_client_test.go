package gerrit

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// cannedTransport answers every request with a body chosen by path, as a
// misbehaving Gerrit might.
type cannedTransport struct {
	change, related, query []byte
}

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body := c.change
	switch {
	case strings.HasSuffix(r.URL.Path, "/related"):
		body = c.related
	case strings.HasSuffix(r.URL.Path, "/changes/"):
		body = c.query
	}
	return &http.Response{
		StatusCode: http.StatusOK, Request: r, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(append([]byte(")]}'\n"), body...))),
	}, nil
}

func fuzzClient(t *testing.T, tr http.RoundTripper) *Client {
	c, err := NewClient(Config{
		URL: "https://review.example.com/", User: "gated", Password: "x", Transport: tr,
		Retry: RetryPolicy{Max: -1}, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	seedChange  = `{"_number":1,"project":"p","branch":"master","status":"NEW","change_id":"Iabc","current_revision":"aaaa","revisions":{"aaaa":{"_number":2,"ref":"refs/changes/01/1/2","commit":{"parents":[{"commit":"bbbb"}],"message":"m\n\nDepends-On: https://review.example.com/2\n"}}},"labels":{"Verified":{"all":[{"_account_id":5,"value":2}]}}}`
	seedRelated = `{"changes":[{"_change_number":3,"_revision_number":1,"_current_revision_number":1,"status":"NEW","commit":{"commit":"cccc","parents":[{"commit":"aaaa"}]}},{"_change_number":2,"_revision_number":1,"_current_revision_number":2,"status":"NEW","commit":{"commit":"bbbb","parents":[]}}]}`
	seedQuery   = `[{"_number":2,"status":"MERGED","change_id":"Idef"},{"_number":4,"status":"NEW","_more_changes":true}]`
)

// FuzzChangeJSON feeds arbitrary change and related-changes answers to
// Change: it must return a snapshot or an error, never panic.
func FuzzChangeJSON(f *testing.F) {
	f.Add([]byte(seedChange), []byte(seedRelated))
	f.Add([]byte(`{"_number":"x"}`), []byte(`{"changes":null}`))
	f.Add([]byte(`null`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, change, related []byte) {
		c := fuzzClient(t, cannedTransport{change: change, related: related, query: []byte(`[]`)})
		ch, err := c.Change(context.Background(), 1)
		if err == nil && ch.Patchset < 0 {
			t.Fatalf("snapshot with patchset %d", ch.Patchset)
		}
	})
}

// FuzzQueryJSON feeds arbitrary query answers to Query: paging must end
// and never panic, whatever _more_changes says.
func FuzzQueryJSON(f *testing.F) {
	f.Add([]byte(seedQuery))
	f.Add([]byte(`[{"_number":1,"_more_changes":true}]`))
	f.Add([]byte(`[[]]`))
	f.Fuzz(func(t *testing.T, query []byte) {
		c := fuzzClient(t, cannedTransport{change: []byte(seedChange), related: []byte(seedRelated), query: query})
		_, _ = c.Query(context.Background(), "status:open")
	})
}
