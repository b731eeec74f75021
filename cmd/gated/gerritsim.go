package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"gated.dev/gated/gerrit/gerrittest"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// gerritsim runs the Gerrit simulator on its own, for manual testing and
// for trying Gerrit clients (git-review, pygerrit2) against it.
func gerritsim(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("gerritsim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "HTTP address (REST, git)")
	sshAddr := fs.String("ssh-addr", "127.0.0.1:29418", "SSH address (stream-events)")
	dir := fs.String("dir", "", "where to keep the repositories (default: a temporary directory)")
	webhook := fs.String("webhook", "", "post events to this URL")
	secret := fs.String("webhook-secret", "", "secret sent with webhook posts")
	var projects listFlag
	fs.Var(&projects, "project", "create this project (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := logger(0)
	sim, err := gerrittest.New(gerrittest.Options{Addr: *addr, SSHAddr: *sshAddr, Dir: *dir, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer sim.Close()
	for _, p := range projects {
		if err := sim.CreateProject(ctx, gerrittest.Project{Name: p}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if *webhook != "" {
		sim.SetWebhook(gerrittest.Webhook{URL: *webhook, Secret: *secret})
	}
	fmt.Printf("Gerrit simulator at %s (ssh %s). Accounts and their HTTP passwords:\n", sim.URL(), sim.SSHAddr())
	for _, a := range gerrittest.DefaultAccounts() {
		fmt.Printf("  %-6s %s\n", a.Username, sim.Password(a.Username))
	}
	<-ctx.Done()
	return 0
}
