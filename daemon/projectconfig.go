package daemon

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gated.dev/gated/queue"
)

// The per-project settings of each pipeline (workflows, file matchers)
// and the timer's branches name pipelines and hold regular expressions:
// validate checks them here, each at its line, as serve would refuse them.

// managers returns the manager of every pipeline the file may name: the
// default ones and those it defines, disabled or not.
func (c Config) managers() map[string]queue.Manager {
	out := map[string]queue.Manager{}
	for _, p := range queue.DefaultPipelines(c.Gerrit.User) {
		out[p.Name] = p.Manager
	}
	for _, py := range c.Pipelines {
		if pc, err := py.overlay(c.defaultPipeline(py.Name)); err == nil {
			out[py.Name] = pc.Manager
		}
	}
	return out
}

func (pr ProjectYAML) validatePipelines(p *problems, path func(k ...string) []string, managers map[string]queue.Manager) {
	known := func(key, pipeline string) bool {
		if _, ok := managers[pipeline]; !ok {
			p.add(path(key, pipeline), "there is no pipeline %q (pipelines: %s)", pipeline, strings.Join(slices.Sorted(mapKeys(managers)), ", "))
			return false
		}
		return true
	}
	for _, pipeline := range slices.Sorted(mapKeys(pr.Workflows)) {
		if file := pr.Workflows[pipeline]; known("workflows", pipeline) && file != "" {
			if err := validRepoPath(file); err != nil {
				p.add(path("workflows", pipeline), "%v", err)
			}
		}
	}
	for _, key := range []string{"files", "irrelevant-files"} {
		m := pr.Files
		if key == "irrelevant-files" {
			m = pr.IrrelevantFiles
		}
		for _, pipeline := range slices.Sorted(mapKeys(m)) {
			if !known(key, pipeline) {
				continue
			}
			if managers[pipeline] == queue.Dependent {
				p.add(path(key, pipeline), "the %s pipeline is dependent: it always builds (what lands was tested), so file matchers do not apply", pipeline)
			}
			for i, re := range m[pipeline] {
				if _, err := regexp.Compile(re); err != nil {
					p.add(path(key, pipeline, fmt.Sprint(i)), "%q is not a regular expression: %v", re, err)
				}
			}
		}
	}
	if _, err := regexp.Compile(pr.Branches); err != nil {
		p.add(path("branches"), "%q is not a regular expression: %v", pr.Branches, err)
	}
}

var triggerField = regexp.MustCompile(`^(?:pipelines\[0\]\.)?triggers\[(\d+)\]\.([a-z]+): (.*)$`)

// triggerPath turns the queue's error about one pipeline into the path of
// the field in the file (pipelines.I.trigger.J.KEY) and the message.
func triggerPath(pipeline []string, msg string) ([]string, string) {
	if m := triggerField.FindStringSubmatch(msg); m != nil {
		return append(slices.Clone(pipeline), "trigger", m[1], m[2]), m[3]
	}
	return pipeline, strings.TrimPrefix(msg, "pipelines[0].")
}
