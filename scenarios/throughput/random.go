package throughput

import (
	"math"
	"time"
)

// draws is a stream of uniform random numbers fixed by its keys: the same
// keys give the same numbers in every run and every strategy, so that
// strategies are compared on common random numbers.
type draws struct{ state uint64 }

func newDraws(keys ...uint64) *draws {
	var h uint64
	for _, k := range keys {
		h = mix(h ^ k)
	}
	return &draws{state: h}
}

// mix is SplitMix64's finalizer: a bijective hash with good avalanche.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// float returns a number uniform in [0, 1).
func (d *draws) float() float64 {
	d.state = mix(d.state)
	return float64(d.state>>11) / (1 << 53)
}

// lognormal returns a duration whose logarithm is normal, with the given
// mean and shape sigma (the standard deviation of the logarithm).
func (d *draws) lognormal(mean time.Duration, sigma float64) time.Duration {
	u1, u2 := 1-d.float(), d.float() // u1 in (0, 1]
	z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	mu := math.Log(float64(mean)) - sigma*sigma/2
	return time.Duration(math.Exp(mu + sigma*z))
}

// exponential returns an exponentially distributed duration with the given
// mean (the gaps of a Poisson process).
func (d *draws) exponential(mean time.Duration) time.Duration {
	return time.Duration(-math.Log(1-d.float()) * float64(mean))
}
