package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"gated.dev/gated/daemon"
)

func status(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "gated's URL")
	asJSON := fs.Bool("json", false, "print the raw JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(*base, "/")+"/api/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "%s: %s %s\n", req.URL, resp.Status, err)
		return 1
	}
	if *asJSON {
		os.Stdout.Write(data)
		return 0
	}
	var st daemon.Status
	if err := json.Unmarshal(data, &st); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	printStatus(os.Stdout, st)
	return 0
}

func printStatus(w io.Writer, st daemon.Status) {
	for _, p := range st.Pipelines {
		fmt.Fprintf(w, "%s (%s)\n", p.Name, p.Manager)
		if len(p.Queues) == 0 {
			fmt.Fprintln(w, "  (empty)")
		}
		for _, q := range p.Queues {
			window := "unlimited"
			if q.Window > 0 {
				window = fmt.Sprint(q.Window)
			}
			fmt.Fprintf(w, "  %s  window %s\n", q.Name, window)
			for i, it := range q.Items {
				var state []string
				for _, c := range it.State {
					state = append(state, c.String())
				}
				active := ""
				if !it.Active {
					active = " (outside the window)"
				}
				fmt.Fprintf(w, "    %d. %s %s %s%s  [%s]\n", i+1, it.Change, it.Change.Project, it.Phase, active, strings.Join(state, " + "))
				if it.Failure != nil {
					fmt.Fprintf(w, "       %s\n", it.Failure.Message)
				}
			}
		}
	}
}
