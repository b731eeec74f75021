package queue

import (
	"encoding/json"
	"fmt"
)

// Actions and events are stored (the daemon's outbox) and sent between
// processes as JSON with a type tag.

type envelope struct {
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

var actionTypes = map[string]func() Action{
	"merge":        func() Action { return &Merge{} },
	"start-build":  func() Action { return &StartBuild{} },
	"cancel-build": func() Action { return &CancelBuild{} },
	"report":       func() Action { return &Report{} },
	"submit":       func() Action { return &Submit{} },
	"forget":       func() Action { return &Forget{} },
}

func actionType(a Action) string {
	switch a.(type) {
	case Merge:
		return "merge"
	case StartBuild:
		return "start-build"
	case CancelBuild:
		return "cancel-build"
	case Report:
		return "report"
	case Submit:
		return "submit"
	case Forget:
		return "forget"
	}
	return ""
}

// MarshalAction encodes an action with its type.
func MarshalAction(a Action) ([]byte, error) {
	t := actionType(a)
	if t == "" {
		return nil, fmt.Errorf("encode action: unknown type %T", a)
	}
	body, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode %s action: %w", t, err)
	}
	return json.Marshal(envelope{Type: t, Body: body})
}

// UnmarshalAction decodes an action encoded by MarshalAction.
func UnmarshalAction(data []byte) (Action, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("decode action: %w", err)
	}
	mk := actionTypes[env.Type]
	if mk == nil {
		return nil, fmt.Errorf("decode action: unknown type %q", env.Type)
	}
	p := mk()
	if err := json.Unmarshal(env.Body, p); err != nil {
		return nil, fmt.Errorf("decode %s action: %w", env.Type, err)
	}
	switch p := p.(type) {
	case *Merge:
		return *p, nil
	case *StartBuild:
		return *p, nil
	case *CancelBuild:
		return *p, nil
	case *Report:
		return *p, nil
	case *Submit:
		return *p, nil
	case *Forget:
		return *p, nil
	}
	return nil, fmt.Errorf("decode action: unknown type %q", env.Type)
}
