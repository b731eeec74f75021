package scheduler

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// podRules are gated's rules about a pod beyond Pod Security, which does
// not look at scheduling: no pod may be steered onto control-plane or
// otherwise reserved nodes (tolerating their taints, selecting them by
// role or by name), take a system priority class, or have its probes and
// lifecycle hooks reach another host (a Pod Security baseline check from
// Kubernetes 1.34, newer than the evaluator gated builds with). Values
// computed at run time are refused: they could become any of these.
func podRules(spec *corev1.PodSpec) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf(ruleControlPlane, fmt.Sprintf(format, args...)))
	}
	for _, t := range spec.Tolerations {
		switch {
		case strings.Contains(t.Key+string(t.Operator)+t.Value+string(t.Effect), "{{"):
			bad("a toleration computed at run time (%q)", t.Key)
		case t.Key == "" && t.Operator == corev1.TolerationOpExists:
			bad("a toleration of every taint")
		case reservedDomain(t.Key):
			bad("a toleration of the taint %q", t.Key)
		}
	}
	for k, v := range spec.NodeSelector {
		if nodeTargeting(k) || strings.Contains(k+v, "{{") {
			bad("nodeSelector %s=%s", k, v)
		}
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil {
		var terms []corev1.NodeSelectorTerm
		if r := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			terms = append(terms, r.NodeSelectorTerms...)
		}
		for _, p := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, p.Preference)
		}
		for _, term := range terms {
			for _, e := range term.MatchExpressions {
				if nodeTargeting(e.Key) || strings.Contains(e.Key+strings.Join(e.Values, ""), "{{") {
					bad("node affinity on %s", e.Key)
				}
			}
			for _, e := range term.MatchFields {
				bad("node affinity on the node's %s", e.Key)
			}
		}
	}
	if p := spec.PriorityClassName; strings.HasPrefix(p, "system-") || strings.Contains(p, "{{") {
		out = append(out, fmt.Sprintf(rulePriority, p))
	}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		for what, h := range probeHosts(c) {
			out = append(out, fmt.Sprintf(ruleHostProbe, fmt.Sprintf("container %q %s host %q", c.Name, what, h)))
		}
	}
	return out
}

// reservedDomain reports whether a taint key or label key belongs to
// Kubernetes (kubernetes.io, k8s.io and their subdomains): the taints the
// cluster puts on its own nodes (control plane, not ready, unschedulable,
// ...).
func reservedDomain(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, d := range []string{"kubernetes.io", "k8s.io"} {
		if prefix == d || strings.HasSuffix(prefix, "."+d) {
			return true
		}
	}
	return false
}

// nodeTargeting reports whether a node label key singles out nodes by
// role or by name (selecting by architecture, OS or zone is fine).
func nodeTargeting(key string) bool {
	return strings.HasPrefix(key, "node-role.kubernetes.io/") || key == "kubernetes.io/hostname" || key == "node.kubernetes.io/role"
}

// probeHosts returns the hosts a container's probes and lifecycle hooks
// name, by where.
func probeHosts(c corev1.Container) map[string]string {
	out := map[string]string{}
	probe := func(what string, p *corev1.Probe) {
		if p != nil {
			handler(out, what, p.HTTPGet, p.TCPSocket)
		}
	}
	probe("livenessProbe", c.LivenessProbe)
	probe("readinessProbe", c.ReadinessProbe)
	probe("startupProbe", c.StartupProbe)
	if l := c.Lifecycle; l != nil {
		if l.PostStart != nil {
			handler(out, "lifecycle.postStart", l.PostStart.HTTPGet, l.PostStart.TCPSocket)
		}
		if l.PreStop != nil {
			handler(out, "lifecycle.preStop", l.PreStop.HTTPGet, l.PreStop.TCPSocket)
		}
	}
	return out
}

func handler(out map[string]string, what string, h *corev1.HTTPGetAction, t *corev1.TCPSocketAction) {
	if h != nil && h.Host != "" {
		out[what+".httpGet"] = h.Host
	}
	if t != nil && t.Host != "" {
		out[what+".tcpSocket"] = t.Host
	}
}
