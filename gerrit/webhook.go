package gerrit

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// Headers and parameter that authenticate a webhook request. Gerrit's
// webhooks plugin cannot sign nor add headers; with a stock Gerrit put the
// secret in the URL (…/gerrit-events?token=SECRET) or let a proxy add the
// header.
const (
	// SecretHeader carries the shared secret itself.
	SecretHeader = "X-Gated-Secret"
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// body, keyed with the shared secret (GitHub's scheme).
	SignatureHeader = "X-Gated-Signature-256"
	// TokenParam is the URL query parameter that carries the secret.
	TokenParam = "token"
)

// DefaultMaxWebhookBody bounds a webhook body when WebhookConfig sets no
// limit: the largest Gerrit events (a change with a long commit message)
// are a few tens of KiB.
const DefaultMaxWebhookBody = 1 << 20

// DefaultWebhookBodyTimeout bounds reading a webhook body when
// WebhookConfig sets no timeout: Gerrit sends an event in one write.
const DefaultWebhookBodyTimeout = 10 * time.Second

// WebhookConfig configures the webhook endpoint.
type WebhookConfig struct {
	// Secret authenticates requests; it must not be empty.
	Secret string
	// MaxBody bounds the body; default DefaultMaxWebhookBody.
	MaxBody int64
	// BodyTimeout bounds reading the body; default
	// DefaultWebhookBodyTimeout. A client that sends it slower gets 408
	// and its connection is closed.
	BodyTimeout time.Duration
	// Logger receives the endpoint's logs; default slog.Default().
	Logger *slog.Logger
}

// NewWebhookHandler returns the endpoint Gerrit's webhooks plugin posts
// events to. It answers 405 to anything but POST, 401 (and logs it) to a
// request without the secret or a valid signature, 413 to an oversized
// body, 400 with the decoding error to a body that is not an event, 503 when
// the sink refuses the event (so Gerrit retries) and 202 when the sink took
// it.
func NewWebhookHandler(cfg WebhookConfig, sink Sink) (http.Handler, error) {
	if cfg.Secret == "" {
		return nil, errors.New("webhook: the secret is empty")
	}
	if sink == nil {
		return nil, errors.New("webhook: no sink")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxWebhookBody
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultWebhookBodyTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &webhook{cfg: cfg, sink: sink}, nil
}

type webhook struct {
	cfg  WebhookConfig
	sink Sink
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.cfg.Logger.With("remote", r.RemoteAddr, "path", r.URL.Path)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhook accepts POST only", http.StatusMethodNotAllowed)
		return
	}
	secretOK := h.secretMatches(r.Header.Get(SecretHeader)) || h.secretMatches(r.URL.Query().Get(TokenParam))
	signature := r.Header.Get(SignatureHeader)
	if !secretOK && signature == "" {
		log.Warn("webhook request rejected: no valid secret or signature; the event is not taken")
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	// The deadline stays after a failure: the server must not wait for
	// the rest of a late body.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.cfg.BodyTimeout))
	body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBody+1))
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, os.ErrDeadlineExceeded) {
			status = http.StatusRequestTimeout
		}
		log.Warn("webhook request body could not be read in time; the event is not taken", "err", err, "timeout", h.cfg.BodyTimeout)
		w.Header().Set("Connection", "close")
		http.Error(w, "reading body: "+err.Error(), status)
		return
	}
	if int64(len(body)) > h.cfg.MaxBody {
		log.Warn("webhook request rejected: body too large; the event is not taken", "limit", h.cfg.MaxBody)
		http.Error(w, fmt.Sprintf("body larger than %d bytes", h.cfg.MaxBody), http.StatusRequestEntityTooLarge)
		return
	}
	if !secretOK && !h.signatureMatches(signature, body) {
		log.Warn("webhook request rejected: bad signature; the event is not taken")
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	ev, err := DecodeEvent(body)
	if err != nil {
		log.Warn("webhook request rejected: not a gerrit event", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := h.sink(r.Context(), ev); err != nil {
		log.Error("webhook event not taken; gerrit will send it again", "type", ev.Type, "change", ev.ChangeNumber(), "err", err)
		http.Error(w, "event not taken, retry later", http.StatusServiceUnavailable)
		return
	}
	log.Debug("webhook event taken", "type", ev.Type, "change", ev.ChangeNumber(), "event", ev.ID())
	w.WriteHeader(http.StatusAccepted)
}

func (h *webhook) secretMatches(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(h.cfg.Secret)) == 1
}

func (h *webhook) signatureMatches(header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	return hmac.Equal(got, Signature(h.cfg.Secret, body))
}

// Signature is the HMAC-SHA256 of body keyed with secret; SignatureHeader
// carries it as "sha256=" + hex.
func Signature(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}
