// Command sim is the throughput simulator: it runs every gate strategy
// with the real queue engine on a virtual clock, on the same seeded
// workloads, and prints the comparison as markdown (or, with -json, one
// row per workload and strategy). With -report it also writes the report
// and its SVG plots to -out.
//
//	go run ./scenarios/sim -report
//	go run ./scenarios/sim -catch 0.9 -seeds 101-110 -json
//
// The flags -rate, -build, -bad, -flaky, -conflict, -capacity and -hours
// define a custom workload: the default workload with those fields
// changed (or, with -workload, that workload).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
	seedFlag := flag.String("seeds", "1-5", "seeds per strategy and workload: A-B (a range), N (1-N), or a comma-separated list of either")
	report := flag.Bool("report", false, "also write report.md and the SVG plots to -out")
	asJSON := flag.Bool("json", false, `print {"runs": [...]}, one row per workload and strategy (means over the seeds), instead of markdown`)
	out := flag.String("out", filepath.Join("scenarios", "sim", "out"), "directory for -report")
	only := flag.String("workload", "", "run only this workload (slow, medium, busy, saturated)")
	strategies := flag.String("strategies", "", "run only these strategies (comma-separated)")
	parallel := flag.Int("j", 0, "runs at a time (0: GOMAXPROCS)")
	hedge := flag.String("hedge", "", `also run each strategy with hedges emulated by the executor (named hedged-NAME): "all" against every undecided item ahead, or N against the N nearest`)
	var o overrides
	flag.Float64Var(&o.rate, "rate", 0, "custom workload: changes approved per hour")
	flag.Float64Var(&o.hours, "hours", 0, "custom workload: hours of arrivals")
	flag.DurationVar(&o.build, "build", 0, "custom workload: mean build duration")
	flag.Float64Var(&o.bad, "bad", 0, "custom workload: share of bad changes")
	flag.Float64Var(&o.flaky, "flaky", 0, "custom workload: probability of a flaky build failure")
	flag.Float64Var(&o.conflict, "conflict", 0, "custom workload: share of conflicting changes")
	flag.IntVar(&o.capacity, "capacity", 0, "custom workload: concurrent builds")
	catch := flag.Float64("catch", 1, "probability that a build of a state containing a bad change fails (every workload)")
	flag.Parse()
	seeds, err := parseSeeds(*seedFlag)
	if err != nil || flag.NArg() > 0 {
		flag.Usage()
		return fmt.Errorf("bad arguments: %v", err)
	}
	o.set = map[string]bool{}
	flag.Visit(func(f *flag.Flag) { o.set[f.Name] = true })

	cases, err := selectCases(*only, o)
	if err != nil {
		return err
	}
	strats, err := selectStrategies(*strategies)
	if err != nil {
		return err
	}
	if strats, err = withHedges(strats, *hedge); err != nil {
		return err
	}
	start := time.Now()
	var comps []*throughput.Comparison
	for _, c := range cases {
		c.Catch = *catch
		comp, err := throughput.Compare(c, strats, seeds, *parallel)
		if err != nil {
			return err
		}
		comps = append(comps, comp)
	}
	doc := throughput.Report(command(), comps)
	if *asJSON {
		data, err := throughput.JSON(comps)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		fmt.Println(string(data))
	} else {
		fmt.Print(doc)
	}
	fmt.Fprintf(os.Stderr, "sim: %d workloads × %d strategies × %d seeds in %v\n", len(comps), len(strats), len(seeds), time.Since(start).Round(time.Second))
	if !*report {
		return nil
	}
	return write(*out, doc, comps)
}

// selectCases returns the named workloads, or the custom one the override
// flags define.
func selectCases(only string, o overrides) ([]throughput.Case, error) {
	if only == "" && o.any() {
		return []throughput.Case{{Name: "custom", Why: "the default workload with the fields given on the command line", Workload: o.apply(throughput.DefaultWorkload())}}, nil
	}
	var cases []throughput.Case
	for _, c := range throughput.Cases() {
		if only == "" || only == c.Name {
			c.Workload = o.apply(c.Workload)
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("no workload named %q", only)
	}
	return cases, nil
}

func selectStrategies(names string) ([]throughput.Strategy, error) {
	all := throughput.Strategies()
	if names == "" {
		return all, nil
	}
	var out []throughput.Strategy
	for _, n := range strings.Split(names, ",") {
		found := false
		for _, s := range all {
			if s.Name == n {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("no strategy named %q", n)
		}
	}
	return out, nil
}

// withHedges adds to the strategies their copies with hedges (see
// throughput.Hedge): none for "", against every undecided item ahead for
// "all", against the N nearest for N.
func withHedges(strats []throughput.Strategy, spec string) ([]throughput.Strategy, error) {
	if spec == "" {
		return strats, nil
	}
	h, prefix, which := throughput.Hedge{}, "hedged-", "every undecided item"
	if spec != "all" {
		n, err := strconv.Atoi(spec)
		if err != nil || n < 1 {
			return nil, fmt.Errorf(`-hedge %q: want "all" or a number of items >= 1`, spec)
		}
		h.Limit, prefix, which = n, fmt.Sprintf("hedged%d-", n), fmt.Sprintf("the %d nearest undecided items", n)
	}
	out := slices.Clone(strats)
	for _, s := range strats {
		s.Name, s.Ours, s.Hedge = prefix+s.Name, false, &h
		s.About += "; and hedges against " + which + " ahead, emulated by the executor (not an engine strategy)"
		out = append(out, s)
	}
	return out, nil
}

// parseSeeds reads "A-B", "N" (1 to N) or a comma-separated list of
// either.
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seeds %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil {
				return nil, fmt.Errorf("seeds %q: %w", s, err)
			}
		} else if !strings.Contains(s, ",") {
			a, b = 1, a // N alone: 1 to N
		}
		if a == 0 || b < a {
			return nil, fmt.Errorf("seeds %q: want A-B with 1 <= A <= B", s)
		}
		for x := a; x <= b; x++ {
			out = append(out, x)
		}
	}
	return out, nil
}

func write(dir, doc string, comps []*throughput.Comparison) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	files := map[string][]byte{"report.md": []byte(doc)}
	for _, c := range comps {
		for name, data := range c.Plots() {
			files[name] = data
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "sim: wrote %d files to %s\n", len(files), dir)
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

func (o overrides) any() bool {
	for _, f := range []string{"rate", "hours", "build", "bad", "flaky", "conflict", "capacity"} {
		if o.set[f] {
			return true
		}
	}
	return false
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
