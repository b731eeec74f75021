package gerrit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

const webhookSecret = "s3cret-webhook"

func TestWebhook(t *testing.T) {
	event := `{"type":"comment-added","project":{"name":"org/proj"},"change":{"number":"7"},"eventCreatedOn":1700000000}`
	sign := func(body string) string {
		return "sha256=" + hex.EncodeToString(Signature(webhookSecret, []byte(body)))
	}
	tests := []struct {
		name    string
		method  string
		target  string
		headers map[string]string
		body    string
		sinkErr error
		status  int
		taken   bool
		log     string
		body400 string
	}{
		{name: "secret header", headers: map[string]string{SecretHeader: webhookSecret}, body: event, status: 202, taken: true},
		{name: "token in the URL, as a stock Gerrit can send it", target: "/gerrit-events?token=" + webhookSecret, body: event, status: 202, taken: true},
		{name: "HMAC signature", headers: map[string]string{SignatureHeader: sign(event)}, body: event, status: 202, taken: true},
		{name: "no credentials", body: event, status: 401, log: "no valid secret or signature"},
		{name: "wrong secret", headers: map[string]string{SecretHeader: "guess"}, body: event, status: 401, log: "no valid secret or signature"},
		{name: "wrong token", target: "/gerrit-events?token=guess", body: event, status: 401, log: "no valid secret or signature"},
		{name: "signature of another body", headers: map[string]string{SignatureHeader: sign(event + " ")}, body: event, status: 401, log: "bad signature"},
		{name: "signature that is not hex", headers: map[string]string{SignatureHeader: "sha256=zz"}, body: event, status: 401, log: "bad signature"},
		{name: "oversized body", headers: map[string]string{SecretHeader: webhookSecret}, body: `{"type":"x","comment":"` + strings.Repeat("a", 2048) + `"}`, status: 413, log: "body too large"},
		{name: "malformed JSON", headers: map[string]string{SecretHeader: webhookSecret}, body: `{"type":`, status: 400, body400: "decode gerrit event"},
		{name: "JSON that is no event", headers: map[string]string{SecretHeader: webhookSecret}, body: `{"change":{}}`, status: 400, body400: "no type"},
		{name: "sink refuses: Gerrit must retry", headers: map[string]string{SecretHeader: webhookSecret}, body: event, sinkErr: errors.New("inbox full"), status: 503, log: "gerrit will send it again"},
		{name: "GET", method: http.MethodGet, headers: map[string]string{SecretHeader: webhookSecret}, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := testLogger()
			var taken []Event
			h, err := NewWebhookHandler(WebhookConfig{Secret: webhookSecret, MaxBody: 1024, Logger: log}, func(_ context.Context, e Event) error {
				if tt.sinkErr != nil {
					return tt.sinkErr
				}
				taken = append(taken, e)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			method, target := tt.method, tt.target
			if method == "" {
				method = http.MethodPost
			}
			if target == "" {
				target = "/gerrit-events"
			}
			req := httptest.NewRequest(method, target, strings.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body)
			}
			if tt.taken != (len(taken) == 1) {
				t.Errorf("sink got %d events, want taken=%v", len(taken), tt.taken)
			}
			if tt.taken && (taken[0].Project != "org/proj" || taken[0].ChangeNumber() != 7) {
				t.Errorf("sink got %+v", taken[0])
			}
			if !strings.Contains(logs.String(), tt.log) {
				t.Errorf("log lacks %q:\n%s", tt.log, logs)
			}
			if !strings.Contains(rec.Body.String(), tt.body400) {
				t.Errorf("answer %q lacks %q", rec.Body, tt.body400)
			}
			if strings.Contains(logs.String(), webhookSecret) {
				t.Errorf("the secret was logged:\n%s", logs)
			}
		})
	}
}

func TestWebhookNeedsASecretAndASink(t *testing.T) {
	if _, err := NewWebhookHandler(WebhookConfig{}, func(context.Context, Event) error { return nil }); err == nil {
		t.Error("a webhook without secret was created")
	}
	if _, err := NewWebhookHandler(WebhookConfig{Secret: "x"}, nil); err == nil {
		t.Error("a webhook without sink was created")
	}
}

func FuzzWebhookBody(f *testing.F) {
	f.Add([]byte(`{"type":"patchset-created","change":{"number":1}}`))
	f.Add([]byte(`{"type":""}`))
	f.Add([]byte(`not json`))
	h, err := NewWebhookHandler(WebhookConfig{Secret: webhookSecret, MaxBody: 4096, Logger: slog.New(slog.DiscardHandler)},
		func(_ context.Context, e Event) error {
			if e.Type == "" {
				return errors.New("event without type reached the sink")
			}
			return nil
		})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(SignatureHeader, "sha256="+hex.EncodeToString(Signature(webhookSecret, body)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 202, 400, 413:
		default:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// A client that sends its body slowly is cut off after the body timeout:
// it holds no connection, nor a goroutine, for longer.
func TestWebhookBodyTimeout(t *testing.T) {
	log, logs := testLogger()
	h, err := NewWebhookHandler(WebhookConfig{Secret: webhookSecret, BodyTimeout: 300 * time.Millisecond, Logger: log}, func(context.Context, Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /gerrit/events HTTP/1.1\r\nHost: gated\r\n%s: %s\r\nContent-Length: 1000\r\n\r\n{", SecretHeader, webhookSecret)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // a byte every 100ms, for ever
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	began := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("the connection stayed open: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout || time.Since(began) > 2*time.Second {
		t.Errorf("got %s after %s; want 408 after the 300ms timeout", resp.Status, time.Since(began))
	}
	if !strings.Contains(logs.String(), "could not be read in time") {
		t.Errorf("nothing logged: %s", logs)
	}
}
