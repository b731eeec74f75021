package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"gated.dev/gated/scenarios"
)

// scenario runs scenario files: one line per expectation; the exit status
// is 0 only if every expectation of every file held.
func scenario(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(os.Stderr, "usage: gated scenario run [-executor sim|argo] FILE...")
		return 2
	}
	fs := flag.NewFlagSet("scenario run", flag.ContinueOnError)
	executor := fs.String("executor", "sim", "sim or argo")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: gated scenario run [-executor sim|argo] FILE...")
		return 2
	}
	r := &scenarios.Runner{Executor: *executor, Out: os.Stdout}
	defer r.Close()
	status := 0
	for _, f := range fs.Args() {
		ok, err := r.RunFile(ctx, f)
		switch {
		case err != nil:
			fmt.Printf("FAIL %v\n", err)
			status = 1
		case !ok:
			status = 1
		}
	}
	return status
}
