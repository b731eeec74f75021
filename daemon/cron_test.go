package daemon

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"gated.dev/gated/queue"
)

// The engine's cron schedules (queue.ParseCron, stdlib only as the engine
// must be) fire when robfig/cron's standard parser, a maintained one, says
// they do: random schedules and times, compared firing by firing.
func TestCronAgreesWithRobfig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fields := []struct {
		min, max int
		names    []string
	}{
		{0, 59, nil}, {0, 23, nil}, {1, 31, nil},
		{1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
		{0, 6, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
	}
	value := func(i int, v int) string {
		if f := fields[i]; f.names != nil && r.IntN(3) == 0 {
			return f.names[v-f.min]
		}
		return fmt.Sprint(v)
	}
	term := func(i int) string {
		f := fields[i]
		a := f.min + r.IntN(f.max-f.min+1)
		b := a + r.IntN(f.max-a+1)
		switch r.IntN(7) {
		case 0:
			return "*"
		case 1:
			return fmt.Sprintf("*/%d", 1+r.IntN(f.max))
		case 2:
			return value(i, a) + "-" + value(i, b)
		case 3:
			return fmt.Sprintf("%s-%s/%d", value(i, a), value(i, b), 1+r.IntN(5))
		case 4:
			return fmt.Sprintf("%d/%d", a, 1+r.IntN(10))
		}
		return value(i, a)
	}
	compared := 0
	for range 4000 {
		var spec []string
		for i := range fields {
			terms := []string{term(i)}
			for r.IntN(3) == 0 {
				terms = append(terms, term(i))
			}
			spec = append(spec, strings.Join(terms, ","))
		}
		s := strings.Join(spec, " ")
		want, err := cron.ParseStandard("CRON_TZ=UTC " + s)
		if err != nil {
			t.Fatalf("robfig refuses %q: %v", s, err)
		}
		at := time.Date(2020+r.IntN(10), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), 0, time.UTC)
		got, err := queue.ParseCron(s)
		if err != nil {
			if !want.Next(at).IsZero() {
				t.Fatalf("%q: %v, but robfig fires it at %s", s, err, want.Next(at))
			}
			continue
		}
		for range 5 {
			w, g := want.Next(at), got.Next(at)
			if !w.Equal(g) {
				t.Fatalf("%q after %s: gated fires at %s, robfig at %s", s, at, g, w)
			}
			at = w
			compared++
		}
	}
	t.Logf("%d firings compared", compared)
}
