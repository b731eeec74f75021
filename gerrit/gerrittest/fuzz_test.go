package gerrittest

import (
	"testing"
)

// FuzzQuery compiles arbitrary searches: an error or a predicate, never a
// panic, and the predicate runs on a change.
func FuzzQuery(f *testing.F) {
	for _, q := range []string{
		"status:open label:Workflow=1", `(change:1 OR message:{Depends-On: http://x/c/p/+/1}) -is:wip`,
		`topic:"a b" NOT project:{org/p}`, "label:Code-Review>=+1,user=alice", "((", "-", `message:"`, "1 OR I0123",
	} {
		f.Add(q)
	}
	s := &Server{changes: map[int]*change{}, revs: map[string]refLocation{}}
	p := &project{name: "org/p"}
	c := &change{number: 1, project: p, branch: "master", changeID: "I0123", status: StatusNew, owner: &Account{Username: "dev"},
		patchsets: []*patchset{{number: 1, commit: &commitData{sha: "abcdef0123", message: "m\n"}, uploader: &Account{Username: "dev"}}}}
	s.changes[1] = c
	f.Fuzz(func(t *testing.T, q string) {
		pred, err := s.parseQuery(q)
		if err == nil {
			pred(c)
		}
	})
}

// FuzzReceiveRequest parses arbitrary push requests.
func FuzzReceiveRequest(f *testing.F) {
	f.Add([]byte("00750000000000000000000000000000000000000000 1111111111111111111111111111111111111111 refs/for/master\x00report-status push-options\n0000000etopic=x\n0000PACK"))
	f.Add([]byte("0000"))
	f.Add([]byte("zzzz"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseReceiveRequest(body)
		if err != nil {
			return
		}
		for _, c := range req.commands {
			if c.ref == "" {
				t.Fatalf("command without ref: %+v", c)
			}
		}
	})
}

// FuzzRewriteReport rewrites arbitrary receive-pack answers: unparsable
// ones come back unchanged.
func FuzzRewriteReport(f *testing.F) {
	report := append(append(pktLine("unpack ok\n"), pktLine("ok refs/for/master\n")...), "0000"...)
	f.Add(append(append(pktLine("\x01"+string(report)), pktLine("\x02progress\n")...), "0000"...), true)
	f.Add(report, false)
	f.Add([]byte("0009\x01abcd0000"), true)
	f.Fuzz(func(t *testing.T, out []byte, sideband bool) {
		caps := []string{"report-status"}
		if sideband {
			caps = append(caps, "side-band-64k")
		}
		got := rewriteReport(out, caps, map[string]string{"refs/for/master": "no new changes"}, []string{"hello"})
		if len(got) == 0 && len(out) > 0 {
			t.Fatalf("rewrote %q to nothing", out)
		}
		// A parsable report without side-band keeps no "ok" for the
		// rejected ref.
		if !sideband {
			if _, err := payloads(out); err == nil {
				lines, err := payloads(got)
				if err != nil {
					t.Fatalf("rewrote a parsable report into %q: %v", got, err)
				}
				for _, l := range lines {
					if l == "ok refs/for/master\n" {
						t.Fatalf("report %q still accepts the rejected ref", got)
					}
				}
			}
		}
	})
}

// payloads reads pkt-lines up to a flush.
func payloads(b []byte) ([]string, error) {
	var out []string
	for off := 0; ; {
		p, flush, k, err := readPkt(b[off:])
		if err != nil {
			return out, err
		}
		off += k
		if flush {
			return out, nil
		}
		out = append(out, string(p))
	}
}
