package gerrit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	gogerrit "github.com/andygrunwald/go-gerrit"
)

// Config says how to reach Gerrit's REST API.
type Config struct {
	// URL is Gerrit's canonical web URL, e.g. https://review.example.com/
	// (with its path prefix, if any).
	URL string
	// User is the account gated acts as. With a user, every request goes
	// to the authenticated /a/ API with HTTP basic auth; without one,
	// gated is anonymous (read-only).
	User string
	// The HTTP password: set at most one of Password, PasswordFile (the
	// first line of the file) and PasswordEnv (an environment variable).
	Password     string
	PasswordFile string
	PasswordEnv  string
	// Timeout bounds each attempt of a request; default 30s, as Zuul.
	Timeout time.Duration
	// Retry is how failed requests are retried.
	Retry RetryPolicy
	// PageSize is the n of change queries; default 500, as Zuul.
	PageSize int
	// Transport carries the requests; default a pooled transport.
	Transport http.RoundTripper
	// Logger receives the client's logs; default slog.Default().
	Logger *slog.Logger
}

// LogValue keeps the password out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", c.URL),
		slog.String("user", c.User),
		slog.Bool("password_set", c.Password != "" || c.PasswordFile != "" || c.PasswordEnv != ""),
	)
}

// Client reads and writes changes through Gerrit's REST API. It is safe for
// concurrent use.
type Client struct {
	api      *gogerrit.Client
	http     *http.Client
	base     *url.URL
	user     string
	password string
	pageSize int
	log      *slog.Logger
}

// NewClient returns a client for the Gerrit described by cfg. It does not
// contact Gerrit.
func NewClient(cfg Config) (*Client, error) {
	base, err := url.Parse(cfg.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("gerrit url %q: not an http(s) URL", cfg.URL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	password, err := cfg.password()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	hc := newRetryingHTTPClient(cfg.Retry.withDefaults(), timeout, cfg.Transport, log)
	api, err := gogerrit.NewClient(context.Background(), base.String(), hc)
	if err != nil {
		return nil, fmt.Errorf("gerrit client for %s: %w", base.Redacted(), err)
	}
	if cfg.User != "" {
		api.Authentication.SetBasicAuth(cfg.User, password)
	}
	pageSize := cfg.PageSize
	if pageSize <= 0 {
		pageSize = 500
	}
	return &Client{api: api, http: hc, base: base, user: cfg.User, password: password, pageSize: pageSize, log: log}, nil
}

func (cfg Config) password() (string, error) {
	set := 0
	for _, s := range []string{cfg.Password, cfg.PasswordFile, cfg.PasswordEnv} {
		if s != "" {
			set++
		}
	}
	switch {
	case set > 1:
		return "", errors.New("gerrit password: set only one of password, password file and password env")
	case cfg.User == "" && set > 0:
		return "", errors.New("gerrit password: set without a user")
	case cfg.User != "" && set == 0:
		return "", fmt.Errorf("gerrit user %q: no password (set a password file or env)", cfg.User)
	case cfg.PasswordFile != "":
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("gerrit password file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		p := strings.TrimSpace(line)
		if p == "" {
			return "", fmt.Errorf("gerrit password file %s: empty", cfg.PasswordFile)
		}
		return p, nil
	case cfg.PasswordEnv != "":
		p := os.Getenv(cfg.PasswordEnv)
		if p == "" {
			return "", fmt.Errorf("gerrit password env %s: empty or unset", cfg.PasswordEnv)
		}
		return p, nil
	}
	return cfg.Password, nil
}

// GitRemote is the URL of a project's repository in Gerrit for git over
// HTTP: the authenticated /a/ path with the account's HTTP password, or the
// anonymous one. It holds the password: never log it.
func (c *Client) GitRemote(project string) string {
	u := *c.base
	if c.user != "" && c.password != "" {
		u.User = url.UserPassword(c.user, c.password)
		u.Path += "a/"
	}
	u.Path += project
	return u.String()
}

// APIError is a refusal by Gerrit: a status outside 2xx, with the text
// Gerrit answered (its error bodies are plain text).
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Message    string
}

// Error says which call Gerrit refused, with its status and text.
func (e *APIError) Error() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("gerrit %s %s: %d: %s", e.Method, e.Path, e.StatusCode, msg)
}

// IsNotFound reports whether err is Gerrit's 404: no such change, project
// or branch, or one gated may not see.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound
}

// maxErrorBody bounds how much of an error response is kept.
const maxErrorBody = 64 << 10

// apiError turns go-gerrit's result into an error that carries Gerrit's
// answer. go-gerrit leaves the body of a failed response unread and open;
// this reads and closes it.
func apiError(method, path string, resp *gogerrit.Response, err error) error {
	if err == nil {
		return nil
	}
	if resp == nil || resp.Response == nil || resp.StatusCode/100 == 2 {
		return fmt.Errorf("gerrit %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &APIError{Method: method, Path: path, StatusCode: resp.StatusCode, Message: string(gogerrit.RemoveMagicPrefixLine(body))}
}

// post sends a JSON body and decodes a JSON answer into out (if not nil),
// reading Gerrit's error text itself, which go-gerrit would drop.
func (c *Client) post(ctx context.Context, path string, body, out any) error {
	req, err := c.api.NewRequest(ctx, http.MethodPost, path, body)
	if err != nil {
		return fmt.Errorf("gerrit POST %s: %w", path, err)
	}
	resp, err := c.api.Do(req, out)
	return apiError(http.MethodPost, path, resp, err)
}

// changePath is the {change-id} of a change in URLs: project~number when
// the project is known, the bare number otherwise.
func changePath(project string, number int) string {
	if project == "" {
		return fmt.Sprint(number)
	}
	return fmt.Sprintf("%s~%d", strings.ReplaceAll(url.PathEscape(project), "/", "%2F"), number)
}
