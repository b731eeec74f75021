package gerrittest

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault makes the server misbehave on the next requests that match it.
type Fault struct {
	// Path selects requests whose URL path contains it.
	Path string
	// Method, if set, selects only requests with this method.
	Method string
	// Status, if set, is answered instead of serving the request, which
	// then has no effect.
	Status int
	// Body is the text answered with Status; default the status text.
	Body string
	// Delay holds the request this long before answering (with Status, or
	// by serving it).
	Delay time.Duration
	// Count is the number of requests affected; default 1.
	Count int
}

// InjectFault arms a fault. Faults are matched in the order they were
// injected; each request triggers at most one.
func (s *Server) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.faults.add(f)
}

// FaultsPending is the number of requests still to be affected by faults.
func (s *Server) FaultsPending() int { return s.faults.pending() }

type faults struct {
	mu   sync.Mutex
	list []Fault
}

func (fs *faults) add(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = append(fs.list, f)
}

func (fs *faults) pending() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := 0
	for _, f := range fs.list {
		n += f.Count
	}
	return n
}

// take returns the fault that matches r, consuming one of its count.
func (fs *faults) take(r *http.Request) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := range fs.list {
		f := &fs.list[i]
		if !strings.Contains(r.URL.Path, f.Path) || (f.Method != "" && f.Method != r.Method) {
			continue
		}
		hit := *f
		f.Count--
		if f.Count == 0 {
			fs.list = append(fs.list[:i], fs.list[i+1:]...)
		}
		return hit, true
	}
	return Fault{}, false
}

// apply performs the fault matching r, if any, and reports whether it
// answered the request.
func (fs *faults) apply(w http.ResponseWriter, r *http.Request, closing <-chan struct{}) bool {
	f, ok := fs.take(r)
	if !ok {
		return false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		case <-closing:
			t.Stop()
			return true
		}
	}
	if f.Status == 0 {
		return false
	}
	body := f.Body
	if body == "" {
		body = http.StatusText(f.Status)
	}
	writeError(w, &Error{Status: f.Status, Message: body})
	return true
}
