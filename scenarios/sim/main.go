// Command sim is the throughput simulator of issue 7: it runs every gate
// strategy with the real queue engine on a virtual clock, on the same
// seeded workloads, and prints the comparison as markdown. With -report it
// also writes the report and its SVG plots to -out.
//
//	go run ./scenarios/sim -report
//
// Flags such as -rate or -capacity override the workloads' fields.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gated.dev/gated/scenarios/throughput"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sim:", err)
		os.Exit(1)
	}
}

func run() error {
	seeds := flag.Int("seeds", 5, "seeds per strategy and workload: 1..N")
	report := flag.Bool("report", false, "also write report.md and the SVG plots to -out")
	out := flag.String("out", filepath.Join("scenarios", "sim", "out"), "directory for -report")
	only := flag.String("workload", "", "run only this workload (target, capacity40, rate10)")
	parallel := flag.Int("j", 0, "runs at a time (0: GOMAXPROCS)")
	var o overrides
	flag.Float64Var(&o.rate, "rate", 0, "override: changes approved per hour")
	flag.Float64Var(&o.hours, "hours", 0, "override: hours of arrivals")
	flag.DurationVar(&o.build, "build", 0, "override: mean build duration")
	flag.Float64Var(&o.bad, "bad", 0, "override: share of bad changes")
	flag.Float64Var(&o.flaky, "flaky", 0, "override: probability of a flaky build failure")
	flag.Float64Var(&o.conflict, "conflict", 0, "override: share of conflicting changes")
	flag.IntVar(&o.capacity, "capacity", 0, "override: concurrent builds")
	flag.Parse()
	if flag.NArg() > 0 || *seeds < 1 {
		flag.Usage()
		return fmt.Errorf("bad arguments")
	}
	o.set = map[string]bool{}
	flag.Visit(func(f *flag.Flag) { o.set[f.Name] = true })

	var cases []throughput.Case
	for _, c := range throughput.Cases() {
		if *only == "" || *only == c.Name {
			c.Workload = o.apply(c.Workload)
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		return fmt.Errorf("no workload named %q", *only)
	}
	var seedList []uint64
	for s := range *seeds {
		seedList = append(seedList, uint64(s+1))
	}
	start := time.Now()
	var comps []*throughput.Comparison
	for _, c := range cases {
		comp, err := throughput.Compare(c, throughput.Strategies(), seedList, *parallel)
		if err != nil {
			return err
		}
		comps = append(comps, comp)
	}
	doc := throughput.Report(command(), comps)
	fmt.Print(doc)
	fmt.Fprintf(os.Stderr, "sim: %d workloads × %d strategies × %d seeds in %v\n", len(comps), len(throughput.Strategies()), *seeds, time.Since(start).Round(time.Second))
	if !*report {
		return nil
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	files := map[string][]byte{"report.md": []byte(doc)}
	for _, c := range comps {
		for name, data := range c.Plots() {
			files[name] = data
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "sim: wrote %d files to %s\n", len(files), *out)
	return nil
}

// command is how the report was made, for the report itself; -j does not
// change the report and is left out.
func command() string {
	var args []string
	for i := 1; i < len(os.Args); i++ {
		a := os.Args[i]
		switch {
		case a == "-j" || a == "--j":
			i++ // and its value
		case strings.HasPrefix(a, "-j=") || strings.HasPrefix(a, "--j="):
		default:
			args = append(args, a)
		}
	}
	return strings.TrimSpace("go run ./scenarios/sim " + strings.Join(args, " "))
}

// overrides are the workload fields given on the command line.
type overrides struct {
	set                               map[string]bool
	rate, hours, bad, flaky, conflict float64
	build                             time.Duration
	capacity                          int
}

func (o overrides) apply(w throughput.Workload) throughput.Workload {
	if o.set["rate"] {
		w.Rate = o.rate
	}
	if o.set["hours"] {
		w.Hours = o.hours
	}
	if o.set["build"] {
		w.Build = o.build
	}
	if o.set["bad"] {
		w.Bad = o.bad
	}
	if o.set["flaky"] {
		w.Flaky = o.flaky
	}
	if o.set["conflict"] {
		w.Conflict = o.conflict
	}
	if o.set["capacity"] {
		w.Capacity = o.capacity
	}
	return w
}
