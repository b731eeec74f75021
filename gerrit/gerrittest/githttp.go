package gerrittest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
)

// maxPushBody bounds a push, which is read into memory before git sees it.
const maxPushBody = 1 << 30

// serveGit serves git smart HTTP with the system git: clone and fetch for
// anyone, push (receive-pack) for authenticated accounts.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, name, service string, acc *Account) {
	s.mu.Lock()
	p := s.projects[name]
	s.mu.Unlock()
	if p == nil {
		writeError(w, errorf(http.StatusNotFound, "Repository not found"))
		return
	}
	switch service {
	case "info/refs":
		svc := r.URL.Query().Get("service")
		if svc != "git-upload-pack" && svc != "git-receive-pack" {
			writeError(w, errorf(http.StatusForbidden, "dumb HTTP is not supported; use a git client with smart HTTP"))
			return
		}
		if svc == "git-receive-pack" && acc == nil {
			unauthorized(w)
			return
		}
		s.advertise(w, r, p, svc)
	case "git-upload-pack":
		s.uploadPack(w, r, p)
	case "git-receive-pack":
		if acc == nil {
			unauthorized(w)
			return
		}
		s.receivePack(w, r, p, acc)
	}
}

// gitCommand is a git service command of the repository, its environment
// carrying the client's protocol version.
func (p *project) gitCommand(ctx context.Context, r *http.Request, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append(args, p.repo.dir)...)
	extra := append([]string{}, env...)
	if v := r.Header.Get("Git-Protocol"); v != "" {
		extra = append(extra, "GIT_PROTOCOL="+v)
	}
	cmd.Env = gitEnv(p.repo.home, extra...)
	return cmd
}

func (s *Server) advertise(w http.ResponseWriter, r *http.Request, p *project, svc string) {
	var out, stderr bytes.Buffer
	cmd := p.gitCommand(r.Context(), r, nil, strings.TrimPrefix(svc, "git-"), "--stateless-rpc", "--advertise-refs")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		writeError(w, fmt.Errorf("%s: %w: %s", svc, err, stderr.String()))
		return
	}
	w.Header().Set("Content-Type", "application/x-"+svc+"-advertisement")
	w.Header().Set("Cache-Control", "no-cache")
	if svc == "git-receive-pack" || !strings.Contains(r.Header.Get("Git-Protocol"), "version=2") {
		w.Write(pktLine("# service=" + svc + "\n"))
		w.Write([]byte("0000"))
	}
	w.Write(out.Bytes())
}

func requestBody(r *http.Request) (io.Reader, error) {
	if r.Header.Get("Content-Encoding") == "gzip" {
		return gzip.NewReader(r.Body)
	}
	return r.Body, nil
}

func (s *Server) uploadPack(w http.ResponseWriter, r *http.Request, p *project) {
	body, err := requestBody(r)
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	var stderr bytes.Buffer
	cmd := p.gitCommand(r.Context(), r, nil, "upload-pack", "--stateless-rpc")
	cmd.Stdin, cmd.Stderr = body, &stderr
	w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	cmd.Stdout = w
	if err := cmd.Run(); err != nil {
		s.log.Warn("gerrit simulator: upload-pack failed", "project", p.name, "err", err, "stderr", stderr.String())
	}
}

// receivePack runs git's receive-pack on the push, then turns what landed
// in refs/for/<branch> into changes and patchsets, as Gerrit's
// ReceiveCommits does, and tells the client in the push's report.
func (s *Server) receivePack(w http.ResponseWriter, r *http.Request, p *project, acc *Account) {
	ctx := r.Context()
	in, err := requestBody(r)
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	body, err := io.ReadAll(io.LimitReader(in, maxPushBody))
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	req, err := parseReceiveRequest(body)
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before, err := p.repo.branches(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	var env []string
	if acc.Admin {
		env = append(env, "GATED_SIM_DIRECT_PUSH=1")
	}
	var out, stderr bytes.Buffer
	cmd := p.gitCommand(ctx, r, env, "receive-pack", "--stateless-rpc")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(body), &out, &stderr
	if err := cmd.Run(); err != nil {
		writeError(w, fmt.Errorf("receive-pack: %w: %s", err, stderr.String()))
		return
	}
	rejects := map[string]string{}
	var messages []string
	for _, c := range req.commands {
		if !strings.HasPrefix(c.ref, "refs/for/") || c.new == zeroRev {
			continue
		}
		sha, err := p.repo.resolve(ctx, c.ref)
		if err != nil || sha == "" {
			continue // receive-pack refused it and said so
		}
		msgs, reject, err := s.processForPush(ctx, p, acc, c.ref, sha, req.options)
		if derr := p.repo.deleteRef(ctx, c.ref); derr != nil && err == nil {
			err = derr
		}
		if err != nil {
			reject = "internal server error: " + err.Error()
		}
		if reject != "" {
			rejects[c.ref] = reject
		}
		messages = append(messages, msgs...)
	}
	if err := s.branchesPushed(ctx, p, acc, before); err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(rewriteReport(out.Bytes(), req.caps, rejects, messages))
}

// branchesPushed emits ref-updated for the branches a direct push moved and
// closes the changes it merged.
func (s *Server) branchesPushed(ctx context.Context, p *project, acc *Account, before map[string]string) error {
	after, err := p.repo.branches(ctx)
	if err != nil {
		return err
	}
	var names []string
	for b := range after {
		names = append(names, b)
	}
	slices.Sort(names)
	for _, b := range names {
		if after[b] == before[b] {
			continue
		}
		s.emit(refUpdatedEvent(p, "refs/heads/"+b, before[b], after[b], acc))
		if err := s.closeMergedByPush(ctx, p, b, after[b], acc); err != nil {
			return err
		}
	}
	return nil
}

// processForPush turns the commits pushed to a refs/for/ ref into new
// changes and patchsets. It returns the lines to show the pusher, and the
// reason the push is rejected, if it is.
func (s *Server) processForPush(ctx context.Context, p *project, acc *Account, ref, sha string, pushOptions []string) ([]string, string, error) {
	target, opts := parseForRef(ref, pushOptions)
	branch := strings.TrimPrefix(target, "refs/heads/")
	tip, err := p.repo.resolve(ctx, "refs/heads/"+branch)
	if err != nil {
		return nil, "", err
	}
	if tip == "" {
		return nil, fmt.Sprintf("branch refs/heads/%s not found", branch), nil
	}
	shas, err := p.repo.newCommits(ctx, sha, tip)
	if err != nil {
		return nil, "", err
	}
	type upload struct {
		commit *commitData
		change *change
	}
	var plan []upload
	ids := map[string]bool{}
	for _, c := range shas {
		if _, known := s.revs[c]; known {
			continue
		}
		commit, err := p.repo.readCommit(ctx, c)
		if err != nil {
			return nil, "", err
		}
		id := changeIDOf(commit.message)
		if id == "" {
			return []string{"ERROR: commit " + c[:7] + ": missing Change-Id in message footer"}, "missing Change-Id in message footer", nil
		}
		if ids[id] {
			return nil, "same Change-Id in multiple changes. Squash the commits with the same Change-Id or ensure Change-Ids are unique for each commit", nil
		}
		ids[id] = true
		up := upload{commit: commit}
		for _, x := range s.changes {
			if x.project == p && x.branch == branch && x.changeID == id {
				up.change = x
			}
		}
		if up.change != nil && !up.change.open() {
			return nil, fmt.Sprintf("change %s closed", s.changeURL(up.change)), nil
		}
		plan = append(plan, up)
	}
	if len(plan) == 0 {
		return nil, "no new changes", nil
	}
	lines := []string{"", "SUCCESS", ""}
	for _, up := range plan {
		c := up.change
		if c == nil {
			if c, err = s.addChange(ctx, p, branch, up.commit, acc, opts); err != nil {
				return nil, "", err
			}
			lines = append(lines, fmt.Sprintf("  %s %s [NEW]", s.changeURL(c), up.commit.subject()))
			continue
		}
		if _, err := s.addPatchset(ctx, c, up.commit, acc); err != nil {
			return nil, "", err
		}
		if opts.topic != "" {
			s.setTopic(c, acc, opts.topic)
		}
		if opts.wip || opts.ready {
			s.setWIP(c, acc, opts.wip)
		}
		lines = append(lines, fmt.Sprintf("  %s %s", s.changeURL(c), up.commit.subject()))
	}
	return append(lines, ""), "", nil
}

// parseForRef reads refs/for/<branch>[%opt,opt=value...] and push options.
func parseForRef(ref string, pushOptions []string) (string, changeOptions) {
	rest := strings.TrimPrefix(ref, "refs/for/")
	target, optString, _ := strings.Cut(rest, "%")
	var opts changeOptions
	all := append(strings.Split(optString, ","), pushOptions...)
	for _, o := range all {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "topic":
			opts.topic = v
		case "wip", "work-in-progress":
			opts.wip, opts.ready = true, false
		case "ready":
			opts.wip, opts.ready = false, true
		case "private":
			opts.private = true
		case "hashtag", "t":
			opts.hashtags = append(opts.hashtags, v)
		}
	}
	return target, opts
}
