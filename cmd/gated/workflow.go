package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"gated.dev/gated/daemon"
	"gated.dev/gated/scheduler"
)

const workflowUsage = `usage: gated workflow check [-config FILE] [-project NAME] [-trusted] FILE...

Checks workflow files offline, exactly as gated checks a change's workflow
before it submits it: the same parse, policy and Argo validation, with the
default configuration's caps, or those of the deployment -config names.
A workflow that refers to templates installed in the cluster is checked as
far as the file goes; gated reads and checks those templates at submit.
Exits 1 if any file is refused, 0 if every file is accepted.`

func workflow(_ context.Context, args []string) int {
	return workflowCommand(args, os.Stdout, os.Stderr)
}

func workflowCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, workflowUsage)
		return 2
	}
	fs := flag.NewFlagSet("workflow check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "a deployment's configuration file (default: the default configuration)")
	project := fs.String("project", "", "check as this project of the configuration (its namespace, whether it is trusted)")
	trusted := fs.Bool("trusted", false, "check as a trusted project's workflow")
	fs.Usage = func() { fmt.Fprintln(stderr, workflowUsage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cfg := daemon.Defaults()
	if *config != "" {
		var err error
		if cfg, err = daemon.LoadConfig(*config); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	namespace := cfg.Executor.Argo.Namespace
	if *project != "" {
		pc, ok := cfg.Projects[*project]
		if !ok {
			fmt.Fprintf(stderr, "project %q is not in the configuration\n", *project)
			return 2
		}
		if pc.Namespace != "" {
			namespace = pc.Namespace
		}
		*trusted = *trusted || pc.Trusted
	}
	policy := cfg.Executor.Argo.Policy()
	refused := false
	for _, file := range fs.Args() {
		if !checkWorkflowFile(stdout, policy, file, namespace, *trusted) {
			refused = true
		}
	}
	if refused {
		return 1
	}
	return 0
}

// checkWorkflowFile prints the verdict on one file and reports whether it
// is accepted.
func checkWorkflowFile(w io.Writer, policy scheduler.Policy, file, namespace string, trusted bool) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(w, "%s: refused: %v\n", file, err)
		return false
	}
	refs, err := policy.Check(data, namespace, trusted)
	var def *scheduler.DefinitionError
	switch {
	case errors.As(err, &def) && len(def.Violations) > 0:
		fmt.Fprintf(w, "%s: refused: it breaks %d rules of the policy:\n", file, len(def.Violations))
		for _, v := range def.Violations {
			fmt.Fprintf(w, "  - %s: %s\n", v.Field, v.Rule)
		}
		return false
	case err != nil:
		fmt.Fprintf(w, "%s: refused: %v\n", file, err)
		return false
	}
	if len(refs) == 0 {
		fmt.Fprintf(w, "%s: accepted\n", file)
		return true
	}
	fmt.Fprintf(w, "%s: accepted as far as the file goes; it refers to templates in the cluster, which cannot be checked offline:\n", file)
	for _, r := range refs {
		fmt.Fprintf(w, "  - %s (at %s): gated reads it at submit and holds it to the same policy\n", r, r.Field)
	}
	fmt.Fprintf(w, "  Argo's validation of the workflow with those templates also runs at submit only.\n")
	return true
}
