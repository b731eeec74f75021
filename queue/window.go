package queue

// The active window of a dependent change queue follows Zuul's TCP-like
// congestion control: it grows when a change merges and shrinks when a change
// fails, between the floor and the ceiling. A size of 0 means unlimited and
// never changes.

func (w WindowConfig) increase(size int) int {
	if size == 0 {
		return 0
	}
	if w.IncreaseType == "exponential" {
		size *= w.IncreaseFactor
	} else {
		size += w.IncreaseFactor
	}
	if w.Ceiling > 0 && size > w.Ceiling {
		size = w.Ceiling
	}
	return size
}

func (w WindowConfig) decrease(size int) int {
	if size == 0 {
		return 0
	}
	if w.DecreaseType == "exponential" {
		size /= w.DecreaseFactor
	} else {
		size -= w.DecreaseFactor
	}
	if size < w.Floor {
		size = w.Floor
	}
	return size
}
