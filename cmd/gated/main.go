// Command gated gates Gerrit code review the way Zuul does, with builds run
// as Argo Workflows: see README.md.
//
//	gated serve -config FILE          run the daemon
//	gated demo                        a demo gate on embedded defaults
//	gated validate FILE               check a configuration offline
//	gated status [-url URL]           print the queues of a running gated
//	gated gerritsim [flags]           run the Gerrit simulator
//	gated scenario run FILE...        run scenario files
//	gated workflow check FILE...      check workflow files offline
//	gated admin ACTION [flags] CHANGE...  dequeue, enqueue, promote, explain
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

var commands = map[string]func(ctx context.Context, args []string) int{
	"serve":     serve,
	"demo":      demo,
	"validate":  validate,
	"status":    status,
	"gerritsim": gerritsim,
	"scenario":  scenario,
	"workflow":  workflow,
	"admin":     admin,
}

func run(ctx context.Context, args []string) int {
	if len(args) == 0 || commands[args[0]] == nil {
		fmt.Fprintln(os.Stderr, usage)
		if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			return 0
		}
		return 2
	}
	return commands[args[0]](ctx, args[1:])
}

const usage = `usage: gated COMMAND [flags]

commands:
  serve -config FILE        run the daemon
  demo                      run a demo gate on embedded defaults (Gerrit simulator,
                            simulated executor, state in a temp dir) and print the
                            status page URL
  validate FILE             check a configuration file offline
  status [-url URL]         print the queues of a running gated
  gerritsim [flags]         run the Gerrit simulator
  scenario run FILE...      run scenario files (see SCENARIOS.md)
  workflow check [-config FILE] [-project NAME] [-trusted] FILE...
                            check workflow files offline with the policy gated
                            applies before a submit
  admin dequeue|enqueue|promote|explain [flags] CHANGE...
                            act on a running gated as an administrator, or ask
                            where a change stands ("gated admin" for details)

Run "gated COMMAND -h" for a command's flags.`

func logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
