package queue

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Cron is a parsed cron schedule: five fields (minute, hour, day of
// month, month, day of week), evaluated in UTC. It is a plain value, so
// the engine's timers need nothing but its clock.
//
// The syntax is the standard one: numbers, "*" (or "?"), ranges "a-b",
// steps "*/n" and "a-b/n", lists "a,b", three-letter month and day names,
// and the descriptors @yearly (@annually), @monthly, @weekly, @daily
// (@midnight) and @hourly. Day of week 0 and 7 are Sunday. When both the
// day of month and the day of week are restricted, a day matching either
// fires (Vixie cron; a field written "*/n" counts as restricted). Zuul's
// timer differs: its day of week 0 is Monday, both days must match, and it
// takes optional sixth (seconds) and seventh (jitter) fields, which are
// refused here.
type Cron struct {
	Minute, Hour, Dom, Month, Dow uint64
	// DomStar and DowStar are set when the field holds "*" (or "?")
	// without a step: the other day field alone decides.
	DomStar, DowStar bool
}

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] is value min+i
}

var cronFields = [5]cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day of week", min: 0, max: 6, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

var cronDescriptors = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// ParseCron parses a five-field cron schedule ("0 3 * * *": 03:00 UTC
// every day). A schedule that can never fire (February 30th) is refused.
func ParseCron(spec string) (Cron, error) {
	s := strings.TrimSpace(spec)
	if d, ok := cronDescriptors[strings.ToLower(s)]; ok {
		s = d
	}
	f := strings.Fields(s)
	if len(f) != 5 {
		return Cron{}, fmt.Errorf("cron schedule %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", spec, len(f))
	}
	var c Cron
	dst := [5]*uint64{&c.Minute, &c.Hour, &c.Dom, &c.Month, &c.Dow}
	for i, field := range cronFields {
		set, star, err := field.parse(f[i])
		if err != nil {
			return Cron{}, fmt.Errorf("cron schedule %q: %s: %w", spec, field.name, err)
		}
		*dst[i] = set
		switch i {
		case 2:
			c.DomStar = star
		case 4:
			c.DowStar = star
		}
	}
	if c.Dow&(1<<7) != 0 {
		c.Dow = c.Dow&^(1<<7) | 1 // 7 is Sunday too
	}
	from := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if c.Next(from).IsZero() {
		return Cron{}, fmt.Errorf("cron schedule %q never fires", spec)
	}
	return c, nil
}

// parse parses one field: a comma-separated list of terms. star reports a
// term "*" or "?" without a step.
func (f cronField) parse(s string) (set uint64, star bool, err error) {
	for _, term := range strings.Split(s, ",") {
		bits, all, err := f.term(term)
		if err != nil {
			return 0, false, err
		}
		set |= bits
		star = star || all
	}
	return set, star, nil
}

// term parses "*", "a", "a-b", each optionally followed by "/step"; all
// reports "*" (or "?") with no step but 1.
func (f cronField) term(s string) (bits uint64, all bool, err error) {
	rng, stepText, hasStep := strings.Cut(s, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 {
			return 0, false, fmt.Errorf("%q: the step must be a positive number", s)
		}
		step = n
	}
	lo, hi := f.min, f.max
	if rng != "*" && rng != "?" {
		a, b, isRange := strings.Cut(rng, "-")
		if lo, err = f.value(a); err != nil {
			return 0, false, err
		}
		hi = lo
		if isRange {
			if hi, err = f.value(b); err != nil {
				return 0, false, err
			}
		} else if hasStep {
			hi = f.max // "a/n": from a to the end
		}
		if lo > hi {
			return 0, false, fmt.Errorf("%q: the range ends before it starts", s)
		}
		return f.span(lo, hi, step), false, nil
	}
	return f.span(lo, hi, step), step == 1, nil
}

// value parses a number or a name within the field's bounds.
func (f cronField) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if f.name == "day of week" && v == 7 {
		return v, nil // Sunday, as 0
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("%d is out of range (%d-%d)", v, f.min, f.max)
	}
	return v, nil
}

func (f cronField) span(lo, hi, step int) uint64 {
	var set uint64
	for v := lo; v <= hi; v += step {
		set |= 1 << v
	}
	return set
}

// cronHorizon bounds the search for the next firing: every schedule that
// fires at all fires within any five years (February 29th comes every
// four or eight).
const cronHorizon = 8 * 366 * 24 * time.Hour

// Next returns the first time strictly after t, to the minute, at which
// the schedule fires, in UTC; the zero time if it never does.
func (c Cron) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	end := t.Add(cronHorizon)
	for t.Before(end) {
		switch {
		case c.Month&(1<<int(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case c.Hour&(1<<t.Hour()) == 0:
			t = t.Truncate(time.Hour).Add(time.Hour)
		case c.Minute&(1<<t.Minute()) == 0:
			// Jump to the next minute of the field in this hour, or to
			// the next hour.
			rest := c.Minute >> (t.Minute() + 1)
			if rest == 0 {
				t = t.Truncate(time.Hour).Add(time.Hour)
			} else {
				t = t.Add(time.Duration(bits.TrailingZeros64(rest)+1) * time.Minute)
			}
		default:
			return t
		}
	}
	return time.Time{}
}

func (c Cron) dayMatches(t time.Time) bool {
	dom := c.Dom&(1<<t.Day()) != 0
	dow := c.Dow&(1<<int(t.Weekday())) != 0
	if c.DomStar || c.DowStar {
		return dom && dow
	}
	return dom || dow
}
