package gerrittest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Webhook is where the server posts its events, one POST per event, as
// Gerrit's webhooks plugin does (Content-Type application/json, an
// X-Origin-Url header, the body in the plugin's JSON).
type Webhook struct {
	URL string
	// Secret, if set, is sent in the X-Gated-Secret header.
	Secret string
	// SigningKey, if set, signs each body: X-Gated-Signature-256 is
	// "sha256=" and the hex HMAC-SHA256 of the body.
	SigningKey string
	// Events, if set, restricts the posts to these event types.
	Events []string
	// MaxTries and RetryInterval are the plugin's: a post that fails (an
	// answer other than 200, 201, 202 or 204, or an I/O error) is tried
	// again after RetryInterval, up to MaxTries times, then dropped.
	// Defaults: 5 and 1s.
	MaxTries      int
	RetryInterval time.Duration
	// Timeout bounds one try; default 10s (the plugin's connection and
	// socket timeouts).
	Timeout time.Duration
}

// SetWebhook starts posting the events emitted from now on to a webhook,
// replacing any previous one; a Webhook without URL stops posting.
func (s *Server) SetWebhook(h Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopWebhookLocked()
	if h.URL == "" {
		return
	}
	if h.MaxTries <= 0 {
		h.MaxTries = 5
	}
	if h.RetryInterval <= 0 {
		h.RetryInterval = time.Second
	}
	if h.Timeout <= 0 {
		h.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	ws := &webhookSender{
		hook: h, sub: s.hub.subscribe(0), origin: s.URL(),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), server: s,
	}
	s.webhook = ws
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ws.run()
	}()
}

// WebhookStats counts the events the webhook took and those it dropped
// after MaxTries.
func (s *Server) WebhookStats() (delivered, dropped int) {
	s.mu.Lock()
	ws := s.webhook
	s.mu.Unlock()
	if ws == nil {
		return 0, 0
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.delivered, ws.dropped
}

func (s *Server) stopWebhookLocked() {
	if s.webhook == nil {
		return
	}
	s.webhook.cancel()
	s.hub.unsubscribe(s.webhook.sub)
	<-s.webhook.done
	s.webhook = nil
}

type webhookSender struct {
	hook   Webhook
	sub    *subscriber
	origin string
	// ctx ends the deliveries; done is closed when they ended.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	server *Server

	mu                 sync.Mutex
	delivered, dropped int
}

func (ws *webhookSender) run() {
	defer close(ws.done)
	client := &http.Client{Timeout: ws.hook.Timeout}
	defer client.CloseIdleConnections()
	for {
		e, ok := ws.sub.next(ws.ctx.Done())
		if !ok {
			return
		}
		if len(ws.hook.Events) > 0 && !slices.Contains(ws.hook.Events, e.Type) {
			continue
		}
		ws.deliver(client, e)
	}
}

func (ws *webhookSender) deliver(client *http.Client, e Event) {
	ctx := ws.ctx
	for try := 1; try <= ws.hook.MaxTries; try++ {
		if ws.post(ctx, client, e.Webhook) {
			ws.mu.Lock()
			ws.delivered++
			ws.mu.Unlock()
			return
		}
		if try == ws.hook.MaxTries {
			break
		}
		t := time.NewTimer(ws.hook.RetryInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	ws.server.log.Warn("gerrit simulator: webhook failed; event dropped", "url", ws.hook.URL, "type", e.Type, "tries", ws.hook.MaxTries)
	ws.mu.Lock()
	ws.dropped++
	ws.mu.Unlock()
}

// post tries one delivery and reports whether the webhook took it.
func (ws *webhookSender) post(ctx context.Context, client *http.Client, body []byte) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ws.hook.URL, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Origin-Url", ws.origin)
	if ws.hook.Secret != "" {
		req.Header.Set("X-Gated-Secret", ws.hook.Secret)
	}
	if ws.hook.SigningKey != "" {
		m := hmac.New(sha256.New, []byte(ws.hook.SigningKey))
		m.Write(body)
		req.Header.Set("X-Gated-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent:
		return true
	}
	return false
}
