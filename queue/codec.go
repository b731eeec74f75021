package queue

import (
	"encoding/json"
	"fmt"
)

// Actions are stored (the daemon's outbox) as JSON with a type tag: the
// action's kind.

type envelope struct {
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

var actionDecoders = map[string]func([]byte) (Action, error){
	Merge{}.kind():        decodeAction[Merge],
	StartBuild{}.kind():   decodeAction[StartBuild],
	CancelBuild{}.kind():  decodeAction[CancelBuild],
	Report{}.kind():       decodeAction[Report],
	Submit{}.kind():       decodeAction[Submit],
	Forget{}.kind():       decodeAction[Forget],
	Refresh{}.kind():      decodeAction[Refresh],
	Checkout{}.kind():     decodeAction[Checkout],
	ListBranches{}.kind(): decodeAction[ListBranches],
}

func decodeAction[A Action](data []byte) (Action, error) {
	var a A
	err := json.Unmarshal(data, &a)
	return a, err
}

// MarshalAction encodes an action with its type.
func MarshalAction(a Action) ([]byte, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode %s action: %w", a.kind(), err)
	}
	return json.Marshal(envelope{Type: a.kind(), Body: body})
}

// UnmarshalAction decodes an action encoded by MarshalAction.
func UnmarshalAction(data []byte) (Action, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("decode action: %w", err)
	}
	decode := actionDecoders[env.Type]
	if decode == nil {
		return nil, fmt.Errorf("decode action: unknown type %q", env.Type)
	}
	a, err := decode(env.Body)
	if err != nil {
		return nil, fmt.Errorf("decode %s action: %w", env.Type, err)
	}
	return a, nil
}
