package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"gated.dev/gated/daemon"
	"gated.dev/gated/queue"
)

const adminUsage = `usage:
  gated admin dequeue [-url URL] [-token-file FILE] [-pipeline gate] [-reason TEXT] CHANGE
  gated admin enqueue [-url URL] [-token-file FILE] [-pipeline gate] [-reason TEXT] CHANGE
  gated admin promote [-url URL] [-token-file FILE] [-pipeline gate] [-reason TEXT] CHANGE...
  gated admin explain [-url URL] [-json] CHANGE

dequeue removes a change from a pipeline; enqueue adds one as if the
pipeline's trigger had fired (its requirements still apply); promote moves
changes to the head of their change queue, in the order given; explain says
where a change stands, or why it is not in a pipeline (no token needed).
Flags may follow the changes. -url defaults to $GATED_URL, else
http://127.0.0.1:8080; -token-file to $GATED_TOKEN_FILE: a file whose first
line is the token, or "name token" as in gated's admin.token-file. The exit
status is 0 when gated did what was asked, 1 when it refused (the reason is
printed) or could not be asked, 2 on bad usage.`

// admin runs "gated admin ...".
func admin(ctx context.Context, args []string) int {
	return adminCommand(ctx, args, os.Stdout, os.Stderr)
}

func adminCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	action := args[0]
	fs := flag.NewFlagSet("admin "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", envOr("GATED_URL", "http://127.0.0.1:8080"), "gated's URL")
	var tokenFile, pipeline, reason *string
	asJSON := new(bool)
	switch action {
	case "dequeue", "enqueue", "promote":
		tokenFile = fs.String("token-file", os.Getenv("GATED_TOKEN_FILE"), "file holding the bearer token")
		pipeline = fs.String("pipeline", "gate", "pipeline")
		reason = fs.String("reason", "", "why, told to the change's owner")
	case "explain":
		asJSON = fs.Bool("json", false, "print the explanation as JSON")
	default:
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2
	}
	changes, err := changeNumbers(positional)
	if err != nil || len(changes) == 0 || (action != "promote" && len(changes) != 1) {
		fmt.Fprintf(stderr, "gated admin %s: ", action)
		if err != nil {
			fmt.Fprintln(stderr, err)
		} else {
			fmt.Fprintln(stderr, "name the change (promote: the changes, head first)")
		}
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	url := strings.TrimSuffix(*base, "/")
	if action == "explain" {
		return explain(ctx, url, changes[0], *asJSON, stdout, stderr)
	}
	token, err := readToken(*tokenFile)
	if err != nil {
		fmt.Fprintf(stderr, "gated admin %s: %v\n", action, err)
		return 1
	}
	req := daemon.AdminRequest{Pipeline: *pipeline, Reason: *reason}
	if action == "promote" {
		req.Changes = changes
	} else {
		req.Change = changes[0]
	}
	body, _ := json.Marshal(req)
	status, data, err := call(ctx, http.MethodPost, url+"/api/admin/"+action, token, body)
	if err != nil {
		fmt.Fprintf(stderr, "gated admin %s: %v\n", action, err)
		return 1
	}
	var v queue.Verdict
	if json.Unmarshal(data, &v) != nil || v.Outcome == "" {
		fmt.Fprintf(stderr, "gated admin %s: %d %s: %s\n", action, status, http.StatusText(status), errorText(data))
		return 1
	}
	if v.Outcome != queue.OutcomeAccepted {
		fmt.Fprintf(stderr, "gated refused (%s): %s\n", v.Outcome, v.Message)
		return 1
	}
	fmt.Fprintln(stdout, v.Message)
	return 0
}

// explain prints a change's explanation: a line about the change, then
// gated's text.
func explain(ctx context.Context, url string, n int, asJSON bool, stdout, stderr io.Writer) int {
	status, data, err := call(ctx, http.MethodGet, fmt.Sprintf("%s/api/changes/%d/explain", url, n), "", nil)
	if err != nil {
		fmt.Fprintf(stderr, "gated admin explain: %v\n", err)
		return 1
	}
	var x queue.Explanation
	if json.Unmarshal(data, &x) != nil || len(x.Pipelines) == 0 {
		fmt.Fprintf(stderr, "gated admin explain: %d %s: %s\n", status, http.StatusText(status), errorText(data))
		return 1
	}
	if asJSON {
		stdout.Write(data)
	} else {
		if x.Project != "" {
			fmt.Fprintf(stdout, "Change %d (%s, %s, patchset %d, %s):\n", x.Change, x.Project, x.Branch, x.Patchset, x.Status)
		}
		fmt.Fprintln(stdout, x.Text)
	}
	if status != http.StatusOK {
		return 1
	}
	return 0
}

// call makes one request to gated, with a bearer token if given.
func call(ctx context.Context, method, url, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, data, err
}

// errorText is the message of an {"error": ...} answer, or the answer.
func errorText(data []byte) string {
	var e struct{ Error string }
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(data))
}

// readToken reads the token from the first line of a file that is neither
// blank nor a comment: "token", or "name token" as in a token file.
func readToken(file string) (string, error) {
	if file == "" {
		return "", errors.New("no token: give -token-file (or set GATED_TOKEN_FILE)")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read the token: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		return f[len(f)-1], nil
	}
	return "", fmt.Errorf("%s holds no token", file)
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func changeNumbers(args []string) ([]int, error) {
	var out []int
	for _, a := range args {
		n, err := strconv.Atoi(a)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a change number", a)
		}
		out = append(out, n)
	}
	return out, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
