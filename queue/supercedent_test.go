package queue

import "testing"

// lifecycleConfig is testConfig with Zuul's reference post, promote and
// tag pipelines: post builds every branch update, promote every merged
// change, tag every tag; post and promote are supercedent.
func lifecycleConfig() Config {
	c := testConfig()
	c.Pipelines = append(c.Pipelines,
		PipelineConfig{Name: "post", Manager: Supercedent, Triggers: []Trigger{{Event: "ref-updated", Ref: []string{`refs/heads/.*$`}}}},
		PipelineConfig{Name: "promote", Manager: Supercedent, Triggers: []Trigger{{Event: "change-merged"}}},
		PipelineConfig{Name: "tag", Manager: Independent, Triggers: []Trigger{{Event: "ref-updated", Ref: []string{`refs/tags/`}}}},
	)
	return c
}

// Table tests of the supercedent manager and of items that are not
// changes (Zuul's test_supercedent.py and post pipelines).
func TestSupercedent(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"a ref update builds its commit as it is, with no merge, and reports to no one", `
			refupdate p t9 old=t0p
			- checkout #1.1 post p refs/heads/master@t9 from t0p
			queue post: p:master@t9
			checkout #1
			- build #1.1 post [] p:master@t9
			pass #1
			- forget #1 post
			queue post:
		`},
		{"a newer item replaces the waiting one, never the one that builds (A runs, B is superseded, C runs)", `
			refupdate p A
			- checkout #1.1 post p refs/heads/master@A
			refupdate p B
			queue post: p:master@A p:master@B
			refupdate p C
			- forget #2 post
			queue post: p:master@A p:master@C
			checkout #1
			- build #1.1 post [] p:master@A
			refupdate p D
			- forget #3 post
			queue post: p:master@A p:master@D
			pass #1
			- forget #1 post
			- checkout #4.1 post p refs/heads/master@D
			checkout #4
			- build #4.1 post [] p:master@D
			fail #4
			- forget #4 post
		`},
		{"one queue per project and branch: master and stable build at once, and so do projects sharing a change queue", `
			refupdate p A
			- checkout #1.1 post p refs/heads/master@A
			refupdate p B ref=refs/heads/stable
			- checkout #2.1 post p refs/heads/stable@B
			refupdate q C
			- checkout #3.1 post q refs/heads/master@C
			refupdate p D
			queue post: p:master@A p:master@D p:stable@B q:master@C
		`},
		{"tags are keyed by the ref: two tags never supersede each other; a deleted ref is ignored", `
			refupdate p V1 ref=refs/tags/v1
			- checkout #1.1 tag p refs/tags/v1@V1
			refupdate p V2 ref=refs/tags/v2
			- checkout #2.1 tag p refs/tags/v2@V2
			refupdate p 0000000000000000000000000000000000000000 ref=refs/tags/v3
			queue tag: p:refs/tags/v1@V1 p:refs/tags/v2@V2
		`},
		{"the same ref update twice is one item", `
			refupdate p A
			- checkout #1.1 post p refs/heads/master@A
			refupdate p A
			queue post: p:master@A
		`},
		{"post after the gate merged a change: the item says which change it came from, and its failure is reported on it", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			// Gerrit reports the ref update before the submit's answer
			// comes: the item waits for it, to know where it comes from.
			refupdate p t1 old=t0p
			queue post: p:master@t1
			submitted #1
			- forget #1 gate
			- checkout #2.1 post p refs/heads/master@t1 from t0p
			queue post: p:master@t1<1
			checkout #2
			- build #2.1 post [1,1] p:master@t1<1
			fail #2
			- report post 1,1 failure
			- forget #2 post
		`},
		{"the submit's answer may come first", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			refupdate p t1
			- checkout #2.1 post p refs/heads/master@t1
			queue post: p:master@t1<1
			checkout #2
			- build #2.1 post [1,1] p:master@t1<1
			pass #2
			- forget #2 post
		`},
		{"an update while a submit is in flight that is not the submit's waits for the answer, then builds as no change's", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			refupdate p X ref=refs/heads/master
			refused #1
			- report gate 1,1 failure Verified-2
			- forget #1 gate
			- checkout #2.1 post p refs/heads/master@X
			queue post: p:master@X
		`},
		{"a direct push is no change's: its failure is reported to no one, and the gate items on the old tip are reset", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			refupdate p t5
			- cancel #1.1 gate
			- merge #1.2 gate [1,1]
			- checkout #2.1 post p refs/heads/master@t5
			checkout #2
			- build #2.1 post [] p:master@t5
			fail #2
			- forget #2 post
		`},
		{"promote: a merged change's item builds the commit the merge made; only the first and the newest of a burst build (1,1 and 3,1)", `
			change 1
			change 2
			change 3
			outside 1 T1
			- checkout #1.1 promote p refs/heads/master@T1
			outside 2 T2
			outside 3 T3
			- forget #2 promote
			queue promote: 1 3
			checkout #1
			- build #1.1 promote [1,1]
			pass #1
			- report promote 1,1 success
			- forget #1 promote
			- checkout #3.1 promote p refs/heads/master@T3
			queue promote: 3
		`},
		{"a merged change with no new tip known builds the branch's tip", `
			change 1
			outside 1
			- checkout #1.1 promote p refs/heads/master@its tip
			checkout #1
			- build #1.1 promote [1,1]
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, lifecycleConfig()).run(tc.script)
		})
	}
}
