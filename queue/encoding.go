package queue

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The state is stored in parts, so that a transition writes only what it
// changed: one part per change queue, and a small part for the rest. Parts
// are keyed by PartMeta and QueuePart.

// PartMeta is the key of the part holding everything but the queues.
const PartMeta = "meta"

// QueuePart is the key of the part holding one change queue.
func QueuePart(pipeline, queue string) string { return "queue\x00" + pipeline + "\x00" + queue }

// meta is the state without its queues.
type meta struct {
	NextItem         ItemID                    `json:"next_item"`
	Refused          map[string]map[int]string `json:"refused,omitempty"` // pipeline → refusals
	Held             map[string]map[int]Hold   `json:"held,omitempty"`    // pipeline → changes held out
	Branches         map[string]*BranchState   `json:"branches,omitempty"`
	Timers           map[string]time.Time      `json:"timers,omitempty"`
	SubmitWholeTopic bool                      `json:"submit_whole_topic,omitempty"`
}

// Ready is what the engine has for its owner after one or more calls of
// Apply, as raft's Ready: what to persist and what to observe.
type Ready struct {
	// State holds the encoded parts of the state changed since the last
	// Ready: every change queue an event touched, and always PartMeta; a
	// nil part is a queue that was removed. Writing them over the parts
	// stored before (deleting the nil ones) gives the parts of the whole
	// state.
	State map[string][]byte
	// Facts are what happened since the last Ready.
	Facts Facts
}

// Ready returns the state's changed parts and the facts since the last
// call, and starts accumulating anew.
func (e *Engine) Ready() (Ready, error) {
	parts := map[string][]byte{}
	m := meta{NextItem: e.st.NextItem, Branches: e.st.Branches, Timers: e.st.Timers, SubmitWholeTopic: e.st.SubmitWholeTopic}
	for _, p := range e.st.Pipelines {
		if len(p.Refused) > 0 {
			if m.Refused == nil {
				m.Refused = map[string]map[int]string{}
			}
			m.Refused[p.Name] = p.Refused
		}
		if len(p.Held) > 0 {
			if m.Held == nil {
				m.Held = map[string]map[int]Hold{}
			}
			m.Held[p.Name] = p.Held
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return Ready{}, fmt.Errorf("encode queue state: %w", err)
	}
	parts[PartMeta] = b
	for k := range e.dropped {
		parts[k] = nil
	}
	clear(e.dropped)
	for q, p := range e.changed {
		b, err := json.Marshal(q)
		if err != nil {
			return Ready{}, fmt.Errorf("encode queue %s: %w", q.Name, err)
		}
		parts[QueuePart(p.Name, q.Name)] = b
	}
	clear(e.changed)
	rd := Ready{State: parts, Facts: e.facts}
	e.facts = Facts{}
	return rd, nil
}

// RestoreParts returns an engine whose state is decoded from the parts
// written by Ready. Parts of pipelines no longer configured are ignored.
func RestoreParts(cfg Config, parts map[string][]byte) (*Engine, error) {
	c, err := compile(cfg)
	if err != nil {
		return nil, fmt.Errorf("queue config: %w", err)
	}
	return restoreParts(c, parts)
}

// restoreParts is RestoreParts with a compiled configuration.
func restoreParts(c *compiled, parts map[string][]byte) (*Engine, error) {
	var m meta
	if err := json.Unmarshal(parts[PartMeta], &m); err != nil {
		return nil, fmt.Errorf("decode queue state %q: %w", PartMeta, err)
	}
	if m.NextItem == 0 {
		return nil, fmt.Errorf("decode queue state: next_item is 0")
	}
	st := State{NextItem: m.NextItem, Branches: m.Branches, Timers: m.Timers, SubmitWholeTopic: m.SubmitWholeTopic}
	byName := map[string]*PipelineState{}
	for _, p := range c.pipelines {
		ps := &PipelineState{Name: p.Name, Queues: []*ChangeQueue{}, Refused: m.Refused[p.Name], Held: m.Held[p.Name]}
		st.Pipelines = append(st.Pipelines, ps)
		byName[p.Name] = ps
	}
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == PartMeta {
			continue
		}
		fields := strings.Split(k, "\x00")
		if len(fields) != 3 || fields[0] != "queue" {
			return nil, fmt.Errorf("decode queue state: unknown part %q", k)
		}
		p := byName[fields[1]]
		if p == nil {
			continue
		}
		q := &ChangeQueue{}
		if err := json.Unmarshal(parts[k], q); err != nil {
			return nil, fmt.Errorf("decode queue state %q: %w", k, err)
		}
		p.Queues = append(p.Queues, q)
	}
	e := &Engine{cfg: c, st: st}
	e.reindex()
	return e, nil
}
