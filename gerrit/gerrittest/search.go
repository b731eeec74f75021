package gerrittest

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// predicate is a compiled change search.
type predicate func(c *change) bool

// parseQuery compiles a Gerrit change search (user-search.txt) in the
// subset gated and common clients use: status:, is:, change:, project:,
// branch:, topic:, submissionid:, message:, owner:, label:, hashtag:,
// ref:, commit:, parentof:, bare numbers and Change-Ids; AND (or
// juxtaposition), OR, NOT or -, parentheses; values quoted with "..." or
// {...}.
func (s *Server) parseQuery(q string) (predicate, error) {
	toks, err := tokenize(q)
	if err != nil {
		return nil, err
	}
	p := &queryParser{s: s, toks: toks}
	if len(toks) == 0 {
		return nil, errorf(http.StatusBadRequest, "query is empty")
	}
	pred, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, errorf(http.StatusBadRequest, "line 1:%d mismatched input '%s'", p.pos, p.toks[p.pos])
	}
	return pred, nil
}

// tokenize splits a query into "(", ")" and terms; a term keeps its quotes.
func tokenize(q string) ([]string, error) {
	var toks []string
	for i := 0; i < len(q); {
		switch c := q[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		default:
			start := i
			for i < len(q) && !strings.ContainsRune(" \t\n()", rune(q[i])) {
				switch q[i] {
				case '"':
					end := strings.IndexByte(q[i+1:], '"')
					if end < 0 {
						return nil, errorf(http.StatusBadRequest, "unterminated quote in %q", q)
					}
					i += end + 2
				case '{':
					end := strings.IndexByte(q[i+1:], '}')
					if end < 0 {
						return nil, errorf(http.StatusBadRequest, "unterminated brace in %q", q)
					}
					i += end + 2
				default:
					i++
				}
			}
			toks = append(toks, q[start:i])
		}
	}
	return toks, nil
}

type queryParser struct {
	s    *Server
	toks []string
	pos  int
}

func (p *queryParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *queryParser) or() (predicate, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek() == "OR" {
		p.pos++
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(c *change) bool { return l(c) || right(c) }
	}
	return left, nil
}

func (p *queryParser) and() (predicate, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t != "" && t != ")" && t != "OR"; t = p.peek() {
		if t == "AND" {
			p.pos++
		}
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(c *change) bool { return l(c) && right(c) }
	}
	return left, nil
}

func (p *queryParser) unary() (predicate, error) {
	t := p.peek()
	switch {
	case t == "NOT":
		p.pos++
		inner, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(c *change) bool { return !inner(c) }, nil
	case strings.HasPrefix(t, "-") && len(t) > 1:
		p.toks[p.pos] = t[1:]
		inner, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(c *change) bool { return !inner(c) }, nil
	case t == "(":
		p.pos++
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, errorf(http.StatusBadRequest, "missing ')'")
		}
		p.pos++
		return inner, nil
	case t == "" || t == ")" || t == "OR" || t == "AND":
		return nil, errorf(http.StatusBadRequest, "line 1:%d no viable alternative at input '%s'", p.pos, t)
	}
	p.pos++
	return p.s.term(t)
}

func unquote(v string) string {
	if len(v) >= 2 && ((v[0] == '"' && v[len(v)-1] == '"') || (v[0] == '{' && v[len(v)-1] == '}')) {
		return v[1 : len(v)-1]
	}
	return v
}

var (
	changeIDPrefix = regexp.MustCompile(`^I[0-9a-f]{4,40}$`)
	hexPrefix      = regexp.MustCompile(`^[0-9a-f]{4,40}$`)
	labelTerm      = regexp.MustCompile(`^([A-Za-z0-9-]+)(?:(>=|<=|=|>|<)([+-]?\d+|MAX|MIN|max|min))?(?:,user=(.+))?$`)
)

// term compiles one operator:value term.
func (s *Server) term(t string) (predicate, error) {
	op, raw, hasOp := strings.Cut(t, ":")
	if !hasOp {
		return s.bareTerm(unquote(t))
	}
	v := unquote(raw)
	lv := strings.ToLower(v)
	switch strings.ToLower(op) {
	case "status":
		return statusTerm(lv)
	case "is":
		switch lv {
		case "open", "closed", "merged", "abandoned", "new":
			return statusTerm(lv)
		case "wip":
			return func(c *change) bool { return c.wip }, nil
		case "private":
			return func(c *change) bool { return c.private }, nil
		case "submittable":
			return submittable, nil
		}
		return nil, errorf(http.StatusBadRequest, "Unrecognized value: %s", v)
	case "change":
		return s.changeTerm(v)
	case "project":
		return func(c *change) bool { return c.project.name == v }, nil
	case "projects":
		return func(c *change) bool { return strings.HasPrefix(c.project.name, v) }, nil
	case "branch":
		b := strings.TrimPrefix(v, "refs/heads/")
		return func(c *change) bool { return c.branch == b }, nil
	case "ref":
		return func(c *change) bool { return "refs/heads/"+c.branch == v }, nil
	case "topic":
		return func(c *change) bool { return c.topic == v }, nil
	case "submissionid":
		return func(c *change) bool { return c.submissionID != "" && c.submissionID == v }, nil
	case "intopic":
		return func(c *change) bool { return strings.Contains(strings.ToLower(c.topic), lv) }, nil
	case "hashtag":
		return func(c *change) bool {
			for _, h := range c.hashtags {
				if strings.EqualFold(h, v) {
					return true
				}
			}
			return false
		}, nil
	case "message":
		return func(c *change) bool { return strings.Contains(strings.ToLower(c.current().commit.message), lv) }, nil
	case "owner", "uploader":
		return func(c *change) bool {
			a := c.owner
			if strings.ToLower(op) == "uploader" {
				a = c.current().uploader
			}
			return a.Username == v || a.Email == v || fmt.Sprint(a.ID) == v
		}, nil
	case "commit":
		return func(c *change) bool {
			for _, ps := range c.patchsets {
				if strings.HasPrefix(ps.commit.sha, lv) {
					return true
				}
			}
			return false
		}, nil
	case "parentof":
		return s.parentOfTerm(v)
	case "label":
		return labelPredicate(v)
	case "limit":
		return func(*change) bool { return true }, nil
	}
	return nil, errorf(http.StatusBadRequest, "Unsupported operator %s:%s", op, v)
}

func statusTerm(v string) (predicate, error) {
	switch v {
	case "open", "new", "pending":
		return func(c *change) bool { return c.status == StatusNew }, nil
	case "closed":
		return func(c *change) bool { return c.status != StatusNew }, nil
	case "merged":
		return func(c *change) bool { return c.status == StatusMerged }, nil
	case "abandoned":
		return func(c *change) bool { return c.status == StatusAbandoned }, nil
	}
	return nil, errorf(http.StatusBadRequest, "Unrecognized value: %s", v)
}

// changeTerm matches change:<number>, change:<Change-Id prefix>,
// change:<project>~<number> and change:<project>~<branch>~<Change-Id>.
func (s *Server) changeTerm(v string) (predicate, error) {
	if parts := strings.Split(v, "~"); len(parts) > 1 {
		return func(c *change) bool { return s.matchesID(c, v) }, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return func(c *change) bool { return c.number == n }, nil
	}
	if changeIDPrefix.MatchString(v) {
		return func(c *change) bool { return strings.HasPrefix(c.changeID, v) }, nil
	}
	return nil, errorf(http.StatusBadRequest, "Unrecognized value: %s", v)
}

func (s *Server) bareTerm(v string) (predicate, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return func(c *change) bool { return c.number == n }, nil
	}
	if changeIDPrefix.MatchString(v) {
		return func(c *change) bool { return strings.HasPrefix(c.changeID, v) }, nil
	}
	if hexPrefix.MatchString(v) {
		return s.term("commit:" + v)
	}
	lv := strings.ToLower(v)
	return func(c *change) bool { return strings.Contains(strings.ToLower(c.current().commit.message), lv) }, nil
}

// parentOfTerm matches the changes whose current patchset is a parent of
// the named change's current patchset.
func (s *Server) parentOfTerm(v string) (predicate, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "Unrecognized value: %s", v)
	}
	return func(c *change) bool {
		child := s.changes[n]
		if child == nil {
			return false
		}
		for _, p := range child.current().commit.parents {
			if loc, ok := s.revs[p]; ok && loc.change == c {
				return true
			}
		}
		return false
	}, nil
}

// labelPredicate matches label:Name[op value][,user=who] against the votes
// on the current patchset. Without an operator it matches any non-zero
// vote; =0 matches changes without a non-zero vote.
func labelPredicate(v string) (predicate, error) {
	m := labelTerm.FindStringSubmatch(v)
	if m == nil {
		return nil, errorf(http.StatusBadRequest, "Invalid label: %s", v)
	}
	l := labelByName(m[1])
	if l == nil {
		return func(*change) bool { return false }, nil
	}
	op, user := m[2], m[4]
	want := 0
	switch strings.ToUpper(m[3]) {
	case "":
		op = "!="
	case "MAX":
		want = l.max
	case "MIN":
		want = l.min
	default:
		want, _ = strconv.Atoi(m[3])
	}
	test := func(x int) bool {
		switch op {
		case ">=":
			return x >= want
		case "<=":
			return x <= want
		case ">":
			return x > want
		case "<":
			return x < want
		case "!=":
			return x != 0
		}
		return x == want
	}
	return func(c *change) bool {
		any := false
		for _, vote := range c.current().votes {
			if vote.label != l.name || (user != "" && vote.account.Username != user && vote.account.Email != user) {
				continue
			}
			if want == 0 && op == "=" {
				any = true
				continue
			}
			if test(vote.value) {
				return true
			}
		}
		return want == 0 && op == "=" && !any
	}, nil
}
