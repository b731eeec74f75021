package gitcredential

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testKey(t *testing.T, fill byte) *Key {
	k, err := New([]byte(strings.Repeat(string(fill), KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCredentials(t *testing.T) {
	k := testKey(t, 'k')
	now := time.Unix(1_800_000_000, 0)
	user, pass := k.Mint("gated-gate-17-1", []string{"org/api", "org/lib"}, now.Add(time.Hour))
	other := testKey(t, 'o')
	_, otherPass := other.Mint("gated-gate-17-1", []string{"org/api"}, now.Add(time.Hour))
	_, lib := k.Mint("gated-gate-17-1", []string{"org/lib"}, now.Add(time.Hour))
	cases := []struct {
		name                    string
		project, user, password string
		at                      time.Time
		want                    error
	}{
		{"its own project", "org/api", user, pass, now, nil},
		{"another project of its state", "org/lib", user, pass, now, nil},
		{"just before it expires", "org/api", user, pass, now.Add(time.Hour - time.Second), nil},
		{"when it expires", "org/api", user, pass, now.Add(time.Hour), ErrExpired},
		{"a project outside its state", "org/secret", user, pass, now, ErrScope},
		{"a prefix of a project", "org", user, pass, now, ErrScope},
		{"another build's name", "org/api", "gated-gate-18-1", pass, now, ErrInvalid},
		{"another key's credential", "org/api", user, otherPass, now, ErrInvalid},
		{"a narrower credential stretched", "org/api", user, lib[:strings.Index(lib, ".")] + pass[strings.Index(pass, "."):], now, ErrInvalid},
		{"no password", "org/api", user, "", now, ErrInvalid},
		{"garbage", "org/api", user, "!!.??", now, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := k.Verify(tc.project, tc.user, tc.password, tc.at); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestURLCarriesTheCredential(t *testing.T) {
	k := testKey(t, 'k')
	expiry := time.Now().Add(time.Hour)
	s, err := k.URL("http://gated.gated.svc:8080/git/org/api", "gated-gate-1-1", []string{"org/api"}, expiry)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	if u.Path != "/git/org/api" || u.User.Username() != "gated-gate-1-1" || k.Verify("org/api", u.User.Username(), pass, time.Now()) != nil {
		t.Errorf("URL %s", s)
	}
	if _, err := k.URL("http://[::1", "b", nil, expiry); err == nil {
		t.Error("a bad base URL was accepted")
	}
}

func TestKeyIsKeptAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "git-credential.key")
	first, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	user, pass := first.Mint("b", []string{"p"}, time.Now().Add(time.Hour))
	again, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Verify("p", user, pass, time.Now()); err != nil {
		t.Errorf("a credential minted before the restart: %v", err)
	}
	short := filepath.Join(t.TempDir(), "short.key")
	os.WriteFile(short, []byte("short"), 0o600)
	if _, err := LoadOrCreateKey(short); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("a short key: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	k, _ := New([]byte(strings.Repeat("k", KeySize)))
	_, pass := k.Mint("b", []string{"p"}, time.Unix(2_000_000_000, 0))
	f.Add("p", "b", pass)
	f.Add("p", "b", "a.b")
	f.Fuzz(func(t *testing.T, project, user, password string) {
		err := k.Verify(project, user, password, time.Unix(1_900_000_000, 0))
		if err == nil && (user != "b" || password != pass || project != "p") {
			t.Fatalf("forged credential accepted: %q %q %q", project, user, password)
		}
	})
}
