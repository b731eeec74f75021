// Package gitcredential mints and verifies the credentials builds fetch
// speculative states from gated's read-only git endpoint with (/git/, see
// merger.GitServer). A credential names a build, the projects it may read
// (the item's own project and the others of its speculative state) and
// when it expires (the build's deadline); it is an HMAC-SHA256 of those
// under a key only gated holds, so gated verifies it without remembering
// anything, across restarts as long as the key is kept (LoadOrCreateKey).
// Credentials travel as the user name and password of the git URL handed
// to the workflow (HTTP Basic authentication).
package gitcredential

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KeySize is the size of a key in bytes.
const KeySize = 32

// Key mints and verifies credentials.
type Key struct {
	secret []byte
}

// New returns a Key for a secret of at least KeySize random bytes.
func New(secret []byte) (*Key, error) {
	if len(secret) < KeySize {
		return nil, fmt.Errorf("git credential key: %d bytes, at least %d are needed", len(secret), KeySize)
	}
	return &Key{secret: slices.Clone(secret)}, nil
}

// LoadOrCreateKey reads the key kept at path, or creates one there (mode
// 0600) on first use, so that credentials minted before a restart stay
// valid after it.
func LoadOrCreateKey(path string) (*Key, error) {
	secret, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		secret = make([]byte, KeySize)
		rand.Read(secret)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create git credential key: %w", err)
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, secret, 0o600); err != nil {
			return nil, fmt.Errorf("create git credential key: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, fmt.Errorf("create git credential key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read git credential key: %w", err)
	}
	k, err := New(secret)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Mint returns the credential of a build that may read projects until
// expiry: the user name (the build) and the password.
func (k *Key) Mint(build string, projects []string, expiry time.Time) (user, password string) {
	scope := strconv.FormatInt(expiry.Unix(), 10) + "\n" + strings.Join(sorted(projects), "\n")
	enc := base64.RawURLEncoding
	return build, enc.EncodeToString([]byte(scope)) + "." + enc.EncodeToString(k.mac(build, scope))
}

// URL returns base (gated's git URL of a project, like
// http://gated:8080/git/org/project) with the build's credential in it.
func (k *Key) URL(base, build string, projects []string, expiry time.Time) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("git URL %q: %w", base, err)
	}
	u.User = url.UserPassword(k.Mint(build, projects, expiry))
	return u.String(), nil
}

// Errors of Verify.
var (
	ErrInvalid = errors.New("not a valid build credential")
	ErrExpired = errors.New("the build credential has expired")
	ErrScope   = errors.New("the build credential does not cover this project")
)

// Verify checks that a credential is one this key minted, has not expired
// at now, and covers project.
func (k *Key) Verify(project, user, password string, now time.Time) error {
	enc := base64.RawURLEncoding.Strict()
	s, m, ok := strings.Cut(password, ".")
	scope, err1 := enc.DecodeString(s)
	mac, err2 := enc.DecodeString(m)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(mac, k.mac(user, string(scope))) {
		return ErrInvalid
	}
	lines := strings.Split(string(scope), "\n")
	expiry, err := strconv.ParseInt(lines[0], 10, 64)
	switch {
	case err != nil:
		return ErrInvalid
	case !now.Before(time.Unix(expiry, 0)):
		return ErrExpired
	case !slices.Contains(lines[1:], project):
		return ErrScope
	}
	return nil
}

func (k *Key) mac(build, scope string) []byte {
	h := hmac.New(sha256.New, k.secret)
	h.Write([]byte(build))
	h.Write([]byte{0})
	h.Write([]byte(scope))
	return h.Sum(nil)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
