package queue

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// File matchers (Zuul's files and irrelevant-files), per project and
// pipeline. In independent and supercedent pipelines, a change or ref
// update none of whose files matches files, or all of whose files match
// irrelevant-files, gets no build, and its report says so. The gate always
// builds: what lands was tested. With no files known (a timer's branch, a
// created ref, an empty commit), the item builds, as in Zuul; Gerrit's
// magic files (/COMMIT_MSG, /MERGE_LIST) are not files of the change.

// compiledProject holds a project's regular expressions.
type compiledProject struct {
	files, irrelevant map[string][]*regexp.Regexp // by pipeline
	branches          *regexp.Regexp              // nil: the default branch
}

func (c *compiled) compileProject(name string, p ProjectConfig) []error {
	var errs []error
	cp := &compiledProject{files: map[string][]*regexp.Regexp{}, irrelevant: map[string][]*regexp.Regexp{}}
	for _, m := range []struct {
		field string
		in    map[string][]string
		out   map[string][]*regexp.Regexp
	}{{"files", p.Files, cp.files}, {"irrelevant_files", p.IrrelevantFiles, cp.irrelevant}} {
		for pipeline, exprs := range m.in {
			res, err := anchored(exprs)
			if err != nil {
				errs = append(errs, fmt.Errorf("projects[%q].%s[%q]: %w", name, m.field, pipeline, err))
			}
			m.out[pipeline] = res
		}
	}
	if p.Branches != "" {
		res, err := anchored([]string{p.Branches})
		if err != nil {
			errs = append(errs, fmt.Errorf("projects[%q].branches: %w", name, err))
		} else {
			cp.branches = res[0]
		}
	}
	c.projects[name] = cp
	return errs
}

// skipFiles returns why a project's item with these changed files gets
// no build in a pipeline, or "" when it builds.
func (c *compiled) skipFiles(project, pipeline string, files []string) string {
	cp := c.projects[project]
	if cp == nil {
		return ""
	}
	files = slices.DeleteFunc(slices.Clone(files), func(f string) bool { return strings.HasPrefix(f, "/") })
	if len(files) == 0 {
		return ""
	}
	if res := cp.irrelevant[pipeline]; len(res) > 0 && !slices.ContainsFunc(files, func(f string) bool { return !matchesAny(res, f) }) {
		return "every file it changes matches the project's irrelevant-files"
	}
	if res := cp.files[pipeline]; len(res) > 0 && !slices.ContainsFunc(files, func(f string) bool { return matchesAny(res, f) }) {
		return "none of the files it changes matches the project's files"
	}
	return ""
}

// wanted reports whether a change has a build in an independent or
// supercedent pipeline; when its files say no, the change is told so.
func (e *Engine) wanted(p *PipelineState, c *Change) bool {
	if !e.cfg.builds(c.Project, p.Name) {
		return false
	}
	why := e.cfg.skipFiles(c.Project, p.Name, c.Files)
	if why == "" {
		return true
	}
	e.reportSkipped(p, c, why)
	return false
}

// reportSkipped tells a change's owner why a pipeline builds nothing for
// its files.
func (e *Engine) reportSkipped(p *PipelineState, c *Change, why string) {
	e.emit(Report{
		Pipeline: p.Name, Change: e.ref(c), Kind: ReportSkipped,
		Message: fmt.Sprintf("gated: no build in the %s pipeline: %s.", p.Name, why),
	})
}

// skipCheckout removes a ref item whose ref update changed only files its
// pipeline does not build for, now that the checkout counted them, and
// reports whether it did.
func (e *Engine) skipCheckout(l *itemLoc, files []string) bool {
	it := l.item
	if it.Ref == nil {
		return false
	}
	why := e.cfg.skipFiles(it.Change.Project, l.pipeline.Name, files)
	if why == "" {
		return false
	}
	if it.Change.Number != 0 {
		e.emit(Report{
			Item: it.ID, Pipeline: l.pipeline.Name, Change: it.Change, Kind: ReportSkipped,
			Message: fmt.Sprintf("gated: no build in the %s pipeline for %s: %s.", l.pipeline.Name, describeRef(it), strings.Replace(why, "it changes", "the update changes", 1)),
		})
	}
	e.dequeue(l, false, "", 0, "")
	return true
}
