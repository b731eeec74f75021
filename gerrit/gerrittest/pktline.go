package gerrittest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// pktLine encodes one git pkt-line.
func pktLine(payload string) []byte {
	return []byte(fmt.Sprintf("%04x%s", len(payload)+4, payload))
}

// readPkt decodes the pkt-line at the start of b: its payload, whether it
// is a flush-pkt ("0000"), and how many bytes it took.
func readPkt(b []byte) (payload []byte, flush bool, n int, err error) {
	if len(b) < 4 {
		return nil, false, 0, errors.New("truncated pkt-line")
	}
	l, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return nil, false, 0, fmt.Errorf("bad pkt-line length %q", b[:4])
	}
	switch {
	case l == 0:
		return nil, true, 4, nil
	case l < 4 || int(l) > len(b):
		return nil, false, 0, fmt.Errorf("bad pkt-line length %d", l)
	}
	return b[4:l], false, int(l), nil
}

// refCommand is one ref update of a push.
type refCommand struct {
	old, new, ref string
}

// receiveRequest is the head of a push request: ref updates, the client's
// capabilities and its push options. The pack follows.
type receiveRequest struct {
	commands []refCommand
	caps     []string
	options  []string
}

func parseReceiveRequest(body []byte) (receiveRequest, error) {
	var req receiveRequest
	off := 0
	for first := true; ; first = false {
		payload, flush, n, err := readPkt(body[off:])
		if err != nil {
			return req, fmt.Errorf("push commands: %w", err)
		}
		off += n
		if flush {
			break
		}
		line := strings.TrimSuffix(string(payload), "\n")
		if first {
			var caps string
			line, caps, _ = strings.Cut(line, "\x00")
			req.caps = strings.Fields(caps)
		}
		if strings.HasPrefix(line, "shallow ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return req, fmt.Errorf("push command %q: want old new ref", line)
		}
		req.commands = append(req.commands, refCommand{old: f[0], new: f[1], ref: f[2]})
	}
	if !hasCap(req.caps, "push-options") {
		return req, nil
	}
	for {
		payload, flush, n, err := readPkt(body[off:])
		if err != nil {
			return req, fmt.Errorf("push options: %w", err)
		}
		off += n
		if flush {
			return req, nil
		}
		req.options = append(req.options, strings.TrimSuffix(string(payload), "\n"))
	}
}

func hasCap(caps []string, c string) bool {
	for _, x := range caps {
		if x == c {
			return true
		}
	}
	return false
}

// rewriteReport rewrites receive-pack's answer: the refs in rejects become
// "ng <ref> <reason>" in the report-status, and messages are shown to the
// user ("remote: ..." lines) when the client multiplexes with side-band.
// An answer it cannot parse is returned unchanged.
func rewriteReport(out []byte, caps []string, rejects map[string]string, messages []string) []byte {
	multiplexed := hasCap(caps, "side-band-64k") || hasCap(caps, "side-band")
	maxData := 65515
	if !hasCap(caps, "side-band-64k") {
		maxData = 995
	}
	report := out
	var progress [][]byte
	if multiplexed {
		report = nil
		for off := 0; off < len(out); {
			payload, flush, n, err := readPkt(out[off:])
			if err != nil || (!flush && len(payload) == 0) {
				return out
			}
			off += n
			if flush {
				break
			}
			switch payload[0] {
			case 1:
				report = append(report, payload[1:]...)
			case 2:
				progress = append(progress, payload[1:])
			default:
				return out
			}
		}
	}
	var rewritten []byte
	skipOptions := false
	for off := 0; ; {
		payload, flush, n, err := readPkt(report[off:])
		if err != nil {
			return out
		}
		off += n
		if flush {
			rewritten = append(rewritten, "0000"...)
			break
		}
		line := string(payload)
		trimmed := strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(trimmed, "ok "):
			ref := strings.TrimPrefix(trimmed, "ok ")
			reason, rejected := rejects[ref]
			skipOptions = rejected
			if rejected {
				line = "ng " + ref + " " + strings.ReplaceAll(reason, "\n", " ") + "\n"
			}
		case strings.HasPrefix(trimmed, "option "):
			if skipOptions {
				continue
			}
		default:
			skipOptions = false
		}
		rewritten = append(rewritten, pktLine(line)...)
	}
	if !multiplexed {
		return rewritten
	}
	var buf []byte
	if len(messages) > 0 {
		buf = sideband(buf, 2, []byte(strings.Join(messages, "\n")+"\n"), maxData)
	}
	for _, p := range progress {
		buf = sideband(buf, 2, p, maxData)
	}
	buf = sideband(buf, 1, rewritten, maxData)
	return append(buf, "0000"...)
}

// sideband appends data to buf as packets of one side-band channel.
func sideband(buf []byte, band byte, data []byte, maxData int) []byte {
	for len(data) > 0 {
		k := min(len(data), maxData)
		buf = append(buf, pktLine(string(band)+string(data[:k]))...)
		data = data[k:]
	}
	return buf
}
