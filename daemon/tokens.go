package daemon

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
	"strings"
)

// minTokenLength is the shortest token accepted: a token is a password
// that nobody types, so it may as well be unguessable.
const minTokenLength = 16

// token is one administrator's bearer token, kept as its SHA-256 so that
// every comparison takes the same time whatever the length of the guess.
type token struct {
	name string
	sum  [sha256.Size]byte
}

// tokens are the administrators' bearer tokens.
type tokens []token

// readTokens reads a token file: one "name token" a line; blank lines and
// lines starting with # are ignored. Errors name the line; they never show
// a token.
func readTokens(path string) (tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("admin token file: %w", err)
	}
	var out tokens
	names := map[string]int{}
	sums := map[[sha256.Size]byte]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		switch {
		case len(f) != 2:
			return nil, fmt.Errorf("admin token file %s:%d: want \"name token\", got %d fields", path, line, len(f))
		case len(f[1]) < minTokenLength:
			return nil, fmt.Errorf("admin token file %s:%d: the token of %s is shorter than %d characters", path, line, f[0], minTokenLength)
		case names[f[0]] != 0:
			return nil, fmt.Errorf("admin token file %s:%d: %s is named on line %d too", path, line, f[0], names[f[0]])
		}
		t := token{name: f[0], sum: sha256.Sum256([]byte(f[1]))}
		if first := sums[t.sum]; first != 0 {
			return nil, fmt.Errorf("admin token file %s:%d: the token of %s is the token of line %d too", path, line, f[0], first)
		}
		names[t.name], sums[t.sum] = line, line
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("admin token file %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("admin token file %s: no token", path)
	}
	return out, nil
}

// match returns the name of the token given, comparing it with every
// token in constant time.
func (ts tokens) match(given string) (string, bool) {
	sum := sha256.Sum256([]byte(given))
	name, found := "", 0
	for _, t := range ts {
		if subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 {
			name, found = t.name, 1
		}
	}
	return name, found == 1
}
