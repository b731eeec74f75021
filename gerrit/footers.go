package gerrit

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// DependsOn is one Depends-On: footer of a commit message, Zuul's
// convention for cross-change dependencies (Gerrit itself ignores them).
// It names a change either by URL or, in the legacy form, by Change-Id.
type DependsOn struct {
	// URL is the footer's URL (URL form); Number is the change number
	// parsed from it, 0 when the URL names no change.
	URL    *url.URL
	Number int
	// ChangeID is the Change-Id of the legacy form. It may name several
	// changes, one per branch.
	ChangeID string
}

var (
	// Zuul's zuul/lib/dependson.py: anything after the colon, per line.
	dependsOnFooter = regexp.MustCompile(`(?mi)^Depends-On:(.*?)\s*$`)
	// Zuul's legacy form, anchored as Zuul anchors it.
	legacyChangeID = regexp.MustCompile(`^I[0-9a-f]{40}$`)
	// The change part of a Gerrit change URL's path, after the server's
	// prefix: /1234, /#/c/1234, /c/org/project/+/1234, with an optional
	// trailing /<patchset> or more, as Zuul's getChangeByURL reads them.
	changeURLPath = regexp.MustCompile(`^(?:#/c/|c/.*/\+/)?(\d+)`)
)

// ParseDependsOn returns the Depends-On footers of a commit message, in
// order. Values that are neither a legacy Change-Id nor an http(s) URL are
// left out.
func ParseDependsOn(message string) []DependsOn {
	var deps []DependsOn
	for _, m := range dependsOnFooter.FindAllStringSubmatch(message, -1) {
		v := strings.TrimSpace(m[1])
		if legacyChangeID.MatchString(v) {
			deps = append(deps, DependsOn{ChangeID: v})
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		deps = append(deps, DependsOn{URL: u})
	}
	return deps
}

// ChangeNumberFromURL returns the number of the change a URL names, if the
// URL points into the Gerrit at base (same host, below base's path). It
// reads the three shapes Zuul accepts: https://host/1234,
// https://host/#/c/1234 and https://host/c/org/project/+/1234.
func ChangeNumberFromURL(base, u *url.URL) (int, bool) {
	if u == nil || !strings.EqualFold(u.Host, base.Host) {
		return 0, false
	}
	path := u.Path
	if u.Fragment != "" {
		path += "#" + u.Fragment
	}
	prefix := strings.TrimSuffix(base.Path, "/") + "/"
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok {
		return 0, false
	}
	m := changeURLPath.FindStringSubmatch(rest)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// ChangeURLs returns the URLs under which the Gerrit at base shows a change,
// in the three shapes a Depends-On footer may use.
func ChangeURLs(base *url.URL, project string, number int) []string {
	root := strings.TrimSuffix(base.Scheme+"://"+base.Host+base.Path, "/")
	n := strconv.Itoa(number)
	return []string{
		root + "/c/" + project + "/+/" + n,
		root + "/#/c/" + n,
		root + "/" + n,
	}
}
