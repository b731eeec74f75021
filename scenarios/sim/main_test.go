package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gated.dev/gated/scenarios/throughput"
)

func TestParseSeeds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []uint64
	}{
		{"101-104", []uint64{101, 102, 103, 104}},
		{"3", []uint64{1, 2, 3}},
		{"7,9-10", []uint64{7, 9, 10}},
	} {
		got, err := parseSeeds(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseSeeds(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0-3", "5-2", "a-b", "1-"} {
		if _, err := parseSeeds(bad); err == nil {
			t.Errorf("parseSeeds(%q) accepted", bad)
		}
	}
}

// The override flags define one custom workload: the default one with
// those fields changed; with -workload they change that workload.
func TestSelectCases(t *testing.T) {
	o := overrides{set: map[string]bool{"rate": true, "build": true}, rate: 4, build: time.Hour}
	cases, err := selectCases("", o)
	if err != nil || len(cases) != 1 || cases[0].Name != "custom" {
		t.Fatalf("cases %+v, %v; want one custom workload", cases, err)
	}
	want := throughput.DefaultWorkload()
	want.Rate, want.Build = 4, time.Hour
	if cases[0].Workload != want {
		t.Fatalf("custom workload %+v, want %+v", cases[0].Workload, want)
	}
	if cases, err = selectCases("medium", o); err != nil || len(cases) != 1 || cases[0].Name != "medium" || cases[0].Rate != 4 {
		t.Fatalf("cases %+v, %v; want medium at 4/h", cases, err)
	}
	if cases, err = selectCases("", overrides{set: map[string]bool{}}); err != nil || len(cases) != len(throughput.Cases()) {
		t.Fatalf("%d cases, %v; want every workload", len(cases), err)
	}
	if _, err := selectCases("nope", o); err == nil {
		t.Fatal("an unknown workload was accepted")
	}
}

// -hedge adds a hedged copy of each strategy, not one of ours and not named
// like a Zuul baseline (the verdict compares gated with those).
func TestWithHedges(t *testing.T) {
	strats := []throughput.Strategy{{Name: "zuul-lindec"}, {Name: "gated", Ours: true}}
	if got, err := withHedges(strats, ""); err != nil || len(got) != 2 {
		t.Fatalf("no -hedge: %d strategies, %v", len(got), err)
	}
	for spec, want := range map[string]struct {
		name  string
		limit int
	}{"all": {"hedged-gated", 0}, "2": {"hedged2-gated", 2}} {
		got, err := withHedges(strats, spec)
		if err != nil || len(got) != 4 {
			t.Fatalf("-hedge %s: %d strategies, %v", spec, len(got), err)
		}
		h := got[3]
		if h.Name != want.name || h.Ours || h.Hedge == nil || h.Hedge.Limit != want.limit || got[1].Hedge != nil {
			t.Fatalf("-hedge %s: %+v", spec, h)
		}
		if strings.HasPrefix(got[2].Name, "zuul") {
			t.Fatalf("-hedge %s: a hedged copy is named like a Zuul baseline: %s", spec, got[2].Name)
		}
	}
	for _, bad := range []string{"0", "some", "-1"} {
		if _, err := withHedges(strats, bad); err == nil {
			t.Errorf("-hedge %s accepted", bad)
		}
	}
}
