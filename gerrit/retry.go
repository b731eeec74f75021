package gerrit

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
)

// RetryPolicy says how requests that failed for a reason that may pass are
// retried: transport errors and timeouts, 429 and 5xx (but 501). A 4xx is
// Gerrit's answer and is never retried. POSTs are retried too: a repeated
// review is harmless and a repeated submit of a merged change succeeds.
type RetryPolicy struct {
	// Max is the number of retries after the first attempt; 0 means the
	// default, 4, and a negative number disables retries.
	Max int
	// WaitMin and WaitMax bound the wait before a retry: it doubles from
	// WaitMin up to WaitMax, with jitter (each wait is drawn between half
	// and all of it). A Retry-After header on 429/503 is honoured up to
	// WaitMax. Defaults: 1s and 30s.
	WaitMin time.Duration
	WaitMax time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	switch {
	case p.Max == 0:
		p.Max = 4
	case p.Max < 0:
		p.Max = 0
	}
	if p.WaitMin <= 0 {
		p.WaitMin = time.Second
	}
	if p.WaitMax < p.WaitMin {
		p.WaitMax = max(30*time.Second, p.WaitMin)
	}
	return p
}

// newRetryingHTTPClient is an http.Client whose transport retries by policy,
// each attempt bounded by timeout.
func newRetryingHTTPClient(p RetryPolicy, timeout time.Duration, transport http.RoundTripper, log *slog.Logger) *http.Client {
	if transport == nil {
		transport = cleanhttp.DefaultPooledTransport()
	}
	rc := &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: transport, Timeout: timeout},
		Logger:       retryLogger{log},
		RetryWaitMin: p.WaitMin,
		RetryWaitMax: p.WaitMax,
		RetryMax:     p.Max,
		CheckRetry:   retryable,
		Backoff:      jitteredBackoff,
		// Hand the last answer to the caller, so that Gerrit's text
		// reaches the error.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return rc.StandardClient()
}

// retryable retries transport errors (timeouts included), 429 and 5xx but
// 501, and never a 4xx or a cancelled request.
func retryable(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return true, nil
	}
	switch c := resp.StatusCode; {
	case c == http.StatusTooManyRequests:
		return true, nil
	case c == http.StatusNotImplemented:
		return false, nil
	case c >= 500:
		return true, nil
	}
	return false, nil
}

// jitteredBackoff doubles the wait from min up to max and draws the actual
// wait in [d/2, d], so that clients that failed together do not retry
// together. A Retry-After on 429 or 503 wins, capped at max.
func jitteredBackoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, maxWait)
		}
	}
	return backoff(minWait, maxWait, attempt)
}

// retryLogger adapts retryablehttp's logging to slog: a retry is a warning
// (it says what failed and that the request is retried), the rest is debug.
type retryLogger struct{ log *slog.Logger }

func (l retryLogger) Error(msg string, kv ...any) { l.log.Debug("gerrit: "+msg, kv...) }
func (l retryLogger) Info(msg string, kv ...any)  { l.log.Debug("gerrit: "+msg, kv...) }
func (l retryLogger) Warn(msg string, kv ...any)  { l.log.Debug("gerrit: "+msg, kv...) }
func (l retryLogger) Debug(msg string, kv ...any) {
	if msg == "retrying request" {
		l.log.Warn("gerrit request failed; retrying after a wait", kv...)
		return
	}
	l.log.Debug("gerrit: "+msg, kv...)
}
