package gerrit

import (
	"reflect"
	"strings"
	"testing"
)

func intp(v int) *int { return &v }

func TestDecodeEvent(t *testing.T) {
	owner := &Account{Username: "dev", Name: "Dev", Email: "dev@example.com"}
	core := &Account{Username: "core", Name: "Core", Email: "core@x"}
	change := &EventChange{
		Number: 1234, Project: "org/proj", Branch: "master", Topic: "t1",
		ID: "I0123456789abcdef0123456789abcdef01234567", Subject: "Fix it", Owner: owner,
		URL: "https://review.example.com/c/org/proj/+/1234", CommitMessage: "Fix it\n\nChange-Id: I0123456789abcdef0123456789abcdef01234567\n",
		Status: StatusNew,
	}
	changeJSON := `{"project":"org/proj","branch":"master","topic":"t1","id":"I0123456789abcdef0123456789abcdef01234567",
		"number":1234,"subject":"Fix it","owner":{"name":"Dev","email":"dev@example.com","username":"dev"},
		"url":"https://review.example.com/c/org/proj/+/1234","commitMessage":"Fix it\n\nChange-Id: I0123456789abcdef0123456789abcdef01234567\n",
		"createdOn":1700000000,"status":"NEW"}`
	patchSet := &EventPatchSet{
		Number: 3, Revision: "1111111111111111111111111111111111111111", Parents: []string{"2222222222222222222222222222222222222222"},
		Ref: "refs/changes/34/1234/3", Uploader: owner, Author: owner, Kind: "REWORK",
	}
	patchSetJSON := `{"number":3,"revision":"1111111111111111111111111111111111111111","parents":["2222222222222222222222222222222222222222"],
		"ref":"refs/changes/34/1234/3","uploader":{"name":"Dev","email":"dev@example.com","username":"dev"},"createdOn":1700000000,
		"author":{"name":"Dev","email":"dev@example.com","username":"dev"},"kind":"REWORK","sizeInsertions":10,"sizeDeletions":-2}`
	env := `"project":"org/proj","refName":"refs/heads/master","changeKey":{"id":"I0123456789abcdef0123456789abcdef01234567"},"eventCreatedOn":1700000100`
	tests := []struct {
		name string
		json string
		want Event
	}{
		{
			name: "patchset-created",
			json: `{"type":"patchset-created","change":` + changeJSON + `,"patchSet":` + patchSetJSON + `,"uploader":{"name":"Dev","email":"dev@example.com","username":"dev"},` + env + `}`,
			want: Event{Type: "patchset-created", CreatedOn: 1700000100, Project: "org/proj", RefName: "refs/heads/master",
				Change: change, PatchSet: patchSet, Actor: owner},
		},
		{
			name: "comment-added with approvals as strings, oldValue only on the changed label",
			json: `{"type":"comment-added","change":` + changeJSON + `,"patchSet":` + patchSetJSON + `,"author":{"name":"Core","username":"core","email":"core@x"},
				"approvals":[{"type":"Code-Review","description":"Code-Review","value":"2"},
				{"type":"Verified","description":"Verified","value":"0"},
				{"type":"Workflow","description":"Workflow","value":"1","oldValue":"0"}],
				"comment":"Patch Set 3: Workflow+1\n\nship it",` + env + `}`,
			want: Event{Type: "comment-added", CreatedOn: 1700000100, Project: "org/proj", RefName: "refs/heads/master",
				Change: change, PatchSet: patchSet, Actor: core,
				Approvals: []Approval{
					{Type: "Code-Review", Description: "Code-Review", Value: 2},
					{Type: "Verified", Description: "Verified", Value: 0},
					{Type: "Workflow", Description: "Workflow", Value: 1, OldValue: intp(0)},
				},
				Comment: "Patch Set 3: Workflow+1\n\nship it"},
		},
		{
			name: "change-merged with newRev",
			json: `{"type":"change-merged","change":` + changeJSON + `,"patchSet":` + patchSetJSON + `,"submitter":{"username":"core","name":"Core","email":"core@x"},"newRev":"3333333333333333333333333333333333333333",` + env + `}`,
			want: Event{Type: "change-merged", CreatedOn: 1700000100, Project: "org/proj", RefName: "refs/heads/master",
				Change: change, PatchSet: patchSet, Actor: core, NewRev: "3333333333333333333333333333333333333333"},
		},
		{
			name: "change-abandoned",
			json: `{"type":"change-abandoned","change":` + changeJSON + `,"patchSet":` + patchSetJSON + `,"abandoner":{"username":"core","name":"Core","email":"core@x"},"reason":"obsolete",` + env + `}`,
			want: Event{Type: "change-abandoned", CreatedOn: 1700000100, Project: "org/proj", RefName: "refs/heads/master",
				Change: change, PatchSet: patchSet, Actor: core, Reason: "obsolete"},
		},
		{
			name: "change-restored",
			json: `{"type":"change-restored","change":` + changeJSON + `,"patchSet":` + patchSetJSON + `,"restorer":{"username":"core","name":"Core","email":"core@x"},` + env + `}`,
			want: Event{Type: "change-restored", CreatedOn: 1700000100, Project: "org/proj", RefName: "refs/heads/master",
				Change: change, PatchSet: patchSet, Actor: core},
		},
		{
			name: "ref-updated takes its project from refUpdate",
			json: `{"type":"ref-updated","submitter":{"username":"core","name":"Core","email":"core@x"},"refUpdate":{"oldRev":"0000000000000000000000000000000000000000","newRev":"3333333333333333333333333333333333333333","refName":"refs/heads/stable","project":"org/proj"},"eventCreatedOn":1700000100}`,
			want: Event{Type: "ref-updated", CreatedOn: 1700000100, Project: "org/proj", Actor: core,
				RefUpdate: &RefUpdate{Project: "org/proj", RefName: "refs/heads/stable", OldRev: ZeroRev, NewRev: "3333333333333333333333333333333333333333"}},
		},
		{
			name: "topic-changed",
			json: `{"type":"topic-changed","change":` + changeJSON + `,"changer":{"username":"core","name":"Core","email":"core@x"},"oldTopic":"t0",` + env + `}`,
			want: Event{Type: "topic-changed", CreatedOn: 1700000100, Project: "org/proj", RefName: "refs/heads/master",
				Change: change, Actor: core, OldTopic: "t0"},
		},
		{
			name: "wip-state-changed",
			json: `{"type":"wip-state-changed","change":` + strings.Replace(changeJSON, `"status":"NEW"`, `"status":"NEW","wip":true`, 1) + `,"patchSet":` + patchSetJSON + `,"changer":{"username":"core","name":"Core","email":"core@x"},` + env + `}`,
			want: Event{Type: "wip-state-changed", CreatedOn: 1700000100, Project: "org/proj", RefName: "refs/heads/master",
				Change: func() *EventChange { c := *change; c.WIP = true; return &c }(), PatchSet: patchSet, Actor: core},
		},
		{
			name: "vote-deleted names the remover as actor and the reviewer",
			json: `{"type":"vote-deleted","change":` + changeJSON + `,"patchSet":` + patchSetJSON + `,"reviewer":{"username":"dev","name":"Dev","email":"dev@example.com"},"remover":{"username":"core","name":"Core","email":"core@x"},
				"approvals":[{"type":"Workflow","description":"Workflow","value":"0","oldValue":"1"}],"comment":"Removed Workflow+1 by Dev\n",` + env + `}`,
			want: Event{Type: "vote-deleted", CreatedOn: 1700000100, Project: "org/proj", RefName: "refs/heads/master",
				Change: change, PatchSet: patchSet, Actor: core, Reviewer: owner,
				Approvals: []Approval{{Type: "Workflow", Description: "Workflow", Value: 0, OldValue: intp(1)}},
				Comment:   "Removed Workflow+1 by Dev\n"},
		},
		{
			name: "webhook form: project as an object, numbers as strings",
			json: `{"type":"patchset-created","project":{"name":"org/proj"},"eventCreatedOn":"1700000100",
				"change":{"number":"1234","project":{"name":"org/proj"},"branch":"master","status":"NEW"},
				"patchSet":{"number":"3","revision":"1111111111111111111111111111111111111111"}}`,
			want: Event{Type: "patchset-created", CreatedOn: 1700000100, Project: "org/proj",
				Change:   &EventChange{Number: 1234, Project: "org/proj", Branch: "master", Status: StatusNew},
				PatchSet: &EventPatchSet{Number: 3, Revision: "1111111111111111111111111111111111111111"}},
		},
		{
			name: "an unknown type with unknown fields",
			json: `{"type":"hashtags-changed","added":["a"],"future":{"x":[1,2]}}`,
			want: Event{Type: "hashtags-changed"},
		},
		{
			name: "dropped-output",
			json: `{"type":"dropped-output"}`,
			want: Event{Type: "dropped-output"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEvent([]byte(tt.json))
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeEvent:\ngot  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeEventErrors(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"not JSON", `{"type":`, "unexpected end of JSON input"},
		{"not an object", `[1,2]`, "cannot unmarshal array"},
		{"no type", `{"change":{"number":1}}`, "no type"},
		{"a change number that is no number", `{"type":"x","change":{"number":"twelve"}}`, "is not an integer"},
		{"a fractional number", `{"type":"x","eventCreatedOn":1.5}`, "is not an integer"},
		{"trailing data", `{"type":"x"} {"type":"y"}`, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEvent([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeEvent error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEventIDIsTheSameAcrossTransports(t *testing.T) {
	stream := `{"type":"comment-added","project":"org/proj","eventCreatedOn":1700000100,
		"change":{"number":7,"project":"org/proj","branch":"master"},"patchSet":{"number":2},
		"author":{"username":"core"},"approvals":[{"type":"Workflow","description":"Workflow","value":"1","oldValue":"0"}],"comment":"Patch Set 2: Workflow+1"}`
	webhook := `{"eventCreatedOn":"1700000100","project":{"name":"org/proj"},"type":"comment-added",
		"change":{"number":"7","project":{"name":"org/proj"},"branch":"master"},"patchSet":{"number":"2"},
		"author":{"username":"core"},"approvals":[{"type":"Workflow","description":"Workflow","value":1,"oldValue":0}],"comment":"Patch Set 2: Workflow+1"}`
	later := strings.Replace(stream, "1700000100", "1700000101", 1)
	a, err := DecodeEvent([]byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodeEvent([]byte(webhook))
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeEvent([]byte(later))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() != b.ID() {
		t.Errorf("the same event by stream-events and webhook has IDs %s and %s", a.ID(), b.ID())
	}
	if a.ID() == c.ID() {
		t.Errorf("events a second apart share the ID %s", a.ID())
	}
	if len(a.ID()) != 32 {
		t.Errorf("ID %q: want 32 hex digits", a.ID())
	}
}

func TestApproval(t *testing.T) {
	tests := []struct {
		a       Approval
		label   string
		changed bool
	}{
		{Approval{Type: "Workflow", Description: "Workflow", Value: 1, OldValue: intp(0)}, "Workflow", true},
		{Approval{Type: "Workflow", Value: 1}, "Workflow", false},
		{Approval{Type: "WF", Description: "Workflow", Value: 1, OldValue: intp(1)}, "Workflow", false},
	}
	for _, tt := range tests {
		if got := tt.a.Label(); got != tt.label {
			t.Errorf("%+v.Label() = %q, want %q", tt.a, got, tt.label)
		}
		if got := tt.a.Changed(); got != tt.changed {
			t.Errorf("%+v.Changed() = %v, want %v", tt.a, got, tt.changed)
		}
	}
}

func TestEventRelevantAndBranch(t *testing.T) {
	tests := []struct {
		name     string
		e        Event
		relevant bool
		branch   string
	}{
		{"a branch update", Event{Type: "ref-updated", RefUpdate: &RefUpdate{RefName: "refs/heads/stable"}}, true, "stable"},
		{"a legacy bare branch name", Event{Type: "ref-updated", RefUpdate: &RefUpdate{RefName: "stable"}}, true, "stable"},
		{"a tag", Event{Type: "ref-updated", RefUpdate: &RefUpdate{RefName: "refs/tags/v1"}}, true, ""},
		{"NoteDb meta ref", Event{Type: "ref-updated", RefUpdate: &RefUpdate{RefName: "refs/changes/34/1234/meta"}}, false, ""},
		{"patchset ref", Event{Type: "ref-updated", RefUpdate: &RefUpdate{RefName: "refs/changes/34/1234/1"}}, false, ""},
		{"replication", Event{Type: "ref-replicated"}, false, ""},
		{"a change event", Event{Type: "comment-added", Change: &EventChange{Number: 1, Branch: "master"}}, true, "master"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Relevant(); got != tt.relevant {
				t.Errorf("Relevant() = %v, want %v", got, tt.relevant)
			}
			if got := tt.e.Branch(); got != tt.branch {
				t.Errorf("Branch() = %q, want %q", got, tt.branch)
			}
		})
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"type":"comment-added","change":{"number":"1"},"approvals":[{"type":"Code-Review","value":"2","oldValue":"0"}]}`))
	f.Add([]byte(`{"type":"patchset-created","project":{"name":"p"},"eventCreatedOn":1.7e9,"patchSet":{"number":1}}`))
	f.Add([]byte(`{"type":"ref-updated","refUpdate":{"refName":"refs/heads/x","project":"p"}}`))
	f.Add([]byte(`{"type":"x","change":{"wip":"true","private":null}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeEvent(data)
		if err != nil {
			return
		}
		if e.Type == "" {
			t.Fatal("decoded an event without a type")
		}
		if e.ID() != e.ID() {
			t.Fatal("ID is not stable")
		}
		_ = e.Relevant()
		_ = e.Branch()
		_ = e.ChangeNumber()
	})
}
