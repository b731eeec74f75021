package gerrit

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"gated.dev/gated/gerrit/gerrittest"
)

// TestIntakeFromBothTransportsTakesEachEventOnce runs the simulator's
// webhook and stream-events into one deduplicating sink: every event
// arrives twice, in two JSON dialects, and is taken once.
func TestIntakeFromBothTransportsTakesEachEventOnce(t *testing.T) {
	for _, auth := range []string{"secret header", "signature"} {
		t.Run(auth, func(t *testing.T) {
			s := sim(t)
			var mu sync.Mutex
			taken := map[string]int{}
			var order []string
			sink := NewDedupe(1000).Filter(func(_ context.Context, e Event) error {
				mu.Lock()
				defer mu.Unlock()
				taken[e.ID()]++
				order = append(order, e.Type)
				return nil
			})
			var fromHook, fromStream int
			counting := func(n *int) Sink {
				return func(ctx context.Context, e Event) error {
					mu.Lock()
					*n++
					mu.Unlock()
					return sink(ctx, e)
				}
			}
			h, err := NewWebhookHandler(WebhookConfig{Secret: "hook-secret", Logger: slog.New(slog.DiscardHandler)}, counting(&fromHook))
			if err != nil {
				t.Fatal(err)
			}
			hook := httptest.NewServer(h)
			defer hook.Close()
			wh := gerrittest.Webhook{URL: hook.URL, RetryInterval: time.Millisecond}
			if auth == "signature" {
				wh.SigningKey = "hook-secret"
			} else {
				wh.Secret = "hook-secret"
			}
			s.SetWebhook(wh)
			signer := sshSigner(t)
			if err := s.AddSSHKey(gerrittest.GatedUser, signer.PublicKey()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- StreamEvents(ctx, streamConfig(s, gerrittest.GatedUser, signer, slog.New(slog.DiscardHandler)), counting(&fromStream))
			}()
			defer func() {
				cancel()
				<-done
			}()
			eventually(t, "the stream to start", func() bool { return s.StreamReaders() == 1 })

			n := upload(t, s, gerrittest.Upload{})
			approve(t, s, n)
			if err := s.Submit(ctx, n, ""); err != nil {
				t.Fatal(err)
			}
			emitted := len(s.Events())
			eventually(t, "every event by both transports", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return fromHook == emitted && fromStream == emitted
			})
			mu.Lock()
			defer mu.Unlock()
			if len(order) != emitted {
				t.Errorf("took %d events (%v), want the %d emitted", len(order), order, emitted)
			}
			for id, times := range taken {
				if times != 1 {
					t.Errorf("event %s taken %d times", id, times)
				}
			}
		})
	}
}
