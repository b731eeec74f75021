package queue

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// periodicConfig has a periodic pipeline firing at 03:00 UTC: p builds
// its default branch, r the branches its expression selects, q nothing.
func periodicConfig() Config {
	c := testConfig()
	c.Pipelines = append(c.Pipelines, PipelineConfig{Name: "periodic", Manager: Independent, Triggers: []Trigger{{Event: "timer", Time: "0 3 * * *"}}})
	c.Projects["q"] = ProjectConfig{Queue: "integrated", Workflows: map[string]string{"periodic": ""}}
	c.Projects["r"] = ProjectConfig{Branches: `(master|stable/.*)$`}
	return c
}

// Timers run on the engine's clock: the harness starts at 2026-01-01
// 00:00 UTC and every command takes a second.
func TestTimers(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"a timer fires when the clock passes its time, for every project that builds there, and enqueues the branches it selects", `
			advance 1h
			advance 1h
			advance 1h
			- list-branches periodic p
			- list-branches periodic r
			tips periodic p master=a1 stable/1=b1
			- checkout #1.1 periodic p refs/heads/master@a1
			tips periodic r master=c1 stable/1=d1 feature=e1
			- checkout #2.1 periodic r refs/heads/master@c1
			- checkout #3.1 periodic r refs/heads/stable/1@d1
			queue periodic: p:master@a1(timer) r:master@c1(timer) r:stable/1@d1(timer)
			checkout #1
			- build #1.1 periodic [] p:master@a1(timer)
			pass #1
			- forget #1 periodic
		`},
		{"it fires once a day, not in between; a branch still queued at the same tip is not enqueued again", `
			advance 1h
			advance 2h
			- list-branches periodic p
			- list-branches periodic r
			tips periodic p master=a1
			- checkout #1.1 periodic p refs/heads/master@a1
			advance 23h
			advance 1h
			- list-branches periodic p
			- list-branches periodic r
			tips periodic p master=a1
			tips periodic p master=a2
			- checkout #2.1 periodic p refs/heads/master@a2
		`},
		{"gated down for three days: the timer fires once when it is back", `
			advance 1h
			advance 72h
			- list-branches periodic p
			- list-branches periodic r
			advance 1m
		`},
		{"an answer for a pipeline or project that no longer builds is ignored", `
			tips periodic q master=a1
			tips nosuch p master=a1
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, periodicConfig()).run(tc.script)
		})
	}
}

// The next firing is part of the state: a restored engine neither loses
// nor repeats it.
func TestTimerSurvivesRestore(t *testing.T) {
	h := newHarness(t, periodicConfig())
	h.run(`advance 1h`)
	rd, err := h.e.Ready()
	if err != nil {
		t.Fatal(err)
	}
	e, err := RestoreParts(periodicConfig(), rd.State)
	if err != nil {
		t.Fatal(err)
	}
	at3 := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	if !reflect.DeepEqual(e.st.Timers, h.e.st.Timers) || e.Due(at3.Add(-time.Second)) || !e.Due(at3) {
		t.Fatalf("restored timers %v (due before 03:00: %v, at 03:00: %v), want %v", e.st.Timers, e.Due(at3.Add(-time.Second)), e.Due(at3), h.e.st.Timers)
	}
	acts := e.Apply(at3.Add(time.Minute), Tick{})
	if got := strings.Join(formatActions(acts), "; "); got != "list-branches periodic p; list-branches periodic r" {
		t.Fatalf("restored engine at 03:01: %s", got)
	}
	if acts := e.Apply(at3.Add(2*time.Minute), Tick{}); len(acts) != 0 || e.Due(at3.Add(2*time.Minute)) {
		t.Fatalf("the timer fired again: %v", formatActions(acts))
	}
}

func TestCron(t *testing.T) {
	from := time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC) // a Thursday
	for _, tc := range []struct {
		spec string
		want []string // the next firings after from
	}{
		{"0 3 * * *", []string{"2026-01-02T03:00", "2026-01-03T03:00"}},
		{"*/20 * * * *", []string{"2026-01-01T10:40", "2026-01-01T11:00", "2026-01-01T11:20"}},
		{"30 10 * * *", []string{"2026-01-02T10:30"}}, // strictly after
		{"0 0 * * 0", []string{"2026-01-04T00:00", "2026-01-11T00:00"}},
		{"0 0 * * 7", []string{"2026-01-04T00:00"}},
		{"0 0 * * sun", []string{"2026-01-04T00:00"}},
		{"0 9 1-7 * mon", []string{"2026-01-02T09:00", "2026-01-03T09:00"}}, // day of month or Monday
		{"0 9 * * mon-fri", []string{"2026-01-02T09:00", "2026-01-05T09:00"}},
		{"15 4 29 feb *", []string{"2028-02-29T04:15"}},
		{"0 12 1 jan,jul *", []string{"2026-01-01T12:00", "2026-07-01T12:00", "2027-01-01T12:00"}},
		{"5/30 1 * * *", []string{"2026-01-02T01:05", "2026-01-02T01:35"}},
		{"@hourly", []string{"2026-01-01T11:00"}},
		{"@weekly", []string{"2026-01-04T00:00"}},
	} {
		c, err := ParseCron(tc.spec)
		if err != nil {
			t.Fatalf("%q: %v", tc.spec, err)
		}
		var got []string
		for at := from; len(got) < len(tc.want); {
			at = c.Next(at)
			got = append(got, at.Format("2006-01-02T15:04"))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q after %s: got %v, want %v", tc.spec, from, got, tc.want)
		}
	}
	for _, spec := range []string{"", "* * * *", "0 3 * * * 30", "60 * * * *", "* 24 * * *", "0 0 0 * *", "0 0 * 13 *", "0 0 * * 8", "5-1 * * * *", "*/0 * * * *", "0 0 30 2 *", "x * * * *", "@every 5m"} {
		if _, err := ParseCron(spec); err == nil {
			t.Errorf("%q parsed; want an error", spec)
		}
	}
}

// FuzzParseCron: a schedule from a configuration file never makes the
// parser panic, and one it accepts fires strictly later, on a minute.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 3 * * *", "*/5 1-3,7 1,15 jan-jun mon-fri", "@daily", "5/7 * * * 7", "0 0 29 2 *"} {
		f.Add(s, int64(1767225600))
	}
	f.Fuzz(func(t *testing.T, spec string, at int64) {
		c, err := ParseCron(spec)
		if err != nil {
			return
		}
		from := time.Unix(at%(1<<40), 0).UTC()
		next := c.Next(from)
		if !next.After(from) || next.Second() != 0 || next.Sub(from) > cronHorizon+time.Minute {
			t.Fatalf("%q after %s: %s", spec, from, next)
		}
	})
}
