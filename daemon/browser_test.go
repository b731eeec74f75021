package daemon

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gated.dev/gated/gerrit/gerrittest"
)

// chromium finds Debian's chromium. Without it the test skips, unless CI
// (GATED_REQUIRE_TOOLS=1) demands it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("GATED_REQUIRE_TOOLS") == "1" {
		t.Fatal("chromium is not installed (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); GATED_REQUIRE_TOOLS=1 makes this a failure")
	return ""
}

// headless starts a headless chromium for the test, and returns a context
// for chromedp to drive it for 90 seconds at most. It stops at the end of
// the test, before what was set up before it (a world's server waits for
// the page's live updates to end).
func headless(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// noMarkup checks that no text from a change became markup on the status
// page: no image in it, and the title its onerror would set is not set.
func noMarkup(ctx context.Context, t *testing.T) {
	t.Helper()
	html, err := chromedp.Run(ctx, chromedp.InnerHTML(chromedp.CSS("#status")))
	if err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "<img") || title == "pwned" {
		t.Fatalf("text from a change became markup:\n%s", html)
	}
}

// The status page, in a real headless browser, shows the queue live: items
// appear and leave without a reload, and text from changes (file names in a
// merge-conflict message) is shown as text, never as markup.
func TestStatusPageInBrowser(t *testing.T) {
	w := newWorld(t, "org/a")
	ctx := headless(t) // after the world: the browser goes first
	w.exec.Hold(true)
	poll := func(what, expr string, timeout time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(w.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("h2.pipeline"))); err != nil {
		t.Fatalf("open the status page: %v", err)
	}
	poll("the page connects for live updates", `document.getElementById("live").textContent.startsWith("live")`, 30*time.Second)

	// Changes enter the gate: the page shows them without a reload. The
	// second conflicts with the first on a file whose name is markup.
	hostile := `<img src=x onerror="document.title='pwned'">.txt`
	a := w.upload("org/a", map[string]string{hostile: "one\n"})
	b := w.upload("org/a", map[string]string{hostile: "two\n"})
	w.approve(a)
	w.approve(b)
	poll("the page shows the building item", `document.querySelectorAll("#status .item.building").length >= 1`, 30*time.Second)
	poll("the page shows the merge conflict", `[...document.querySelectorAll("#status .why")].some(e => e.textContent.includes("onerror"))`, 30*time.Second)
	noMarkup(ctx, t)

	// The builds end: the items leave the page, still without a reload.
	w.exec.Hold(false)
	w.exec.Release(0)
	w.waitFor("the first change merged", w.merged(a))
	poll("the page follows the queue emptying", `document.querySelectorAll("#status .item").length == 0`, 60*time.Second)
}

// The status page's filter, in a real headless browser: it keeps its
// state in the URL, applies to the items live updates bring, and shows a
// subject that is markup as text.
func TestStatusPageFilterInBrowser(t *testing.T) {
	w := newWorld(t, "org/a", "org/b")
	ctx := headless(t) // after the world: the browser goes first
	w.exec.Hold(true)
	hostile := `<img src=x onerror="document.title='pwned'">Fix the build`
	a, err := w.gerrit.Upload(context.Background(), gerrittest.Upload{Project: "org/a", Subject: hostile})
	if err != nil {
		t.Fatal(err)
	}
	b := w.upload("org/b", nil)
	w.approve(a)
	w.approve(b)
	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// shown lists the change numbers of the items the filter lets through;
	// all those of the page.
	const shown = `[...document.querySelectorAll("#status .item")].filter(e => !e.hidden).map(e => e.querySelector("a.change").textContent.split(",")[0])`
	const all = `[...document.querySelectorAll("#status .item")].map(e => e.querySelector("a.change").textContent.split(",")[0])`

	if err := chromedp.Do(ctx, chromedp.Navigate(w.srv.URL+"/?q=org/b"), chromedp.WaitVisible(chromedp.CSS("#filter"))); err != nil {
		t.Fatalf("open the status page: %v", err)
	}
	poll("the page connects for live updates", `document.getElementById("live").textContent.startsWith("live")`)
	poll("both changes are on the page", fmt.Sprintf(`%s.includes("%d") && %s.includes("%d")`, all, a, all, b))
	poll("the filter from the URL shows org/b only", fmt.Sprintf(`%s.length > 0 && %s.every(n => n == "%d")`, shown, shown, b))

	// A live update brings a new item: the filter applies to it too.
	c := w.upload("org/a", nil)
	w.approve(c)
	poll("the new item arrives, filtered out", fmt.Sprintf(`%s.includes("%d") && !%s.includes("%d") && document.getElementById("filter").value == "org/b"`, all, c, shown, c))

	// Typing in the filter: a change number; the URL follows.
	typeFilter := func(text string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const f = document.getElementById("filter"); f.value = %q; f.dispatchEvent(new Event("input")); return true; })()`, text)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
			t.Fatal(err)
		}
	}
	typeFilter(fmt.Sprint(a))
	poll("the filter shows the change typed", fmt.Sprintf(`%s.length > 0 && %s.every(n => n == "%d") && new URLSearchParams(location.search).get("q") == "%d"`, shown, shown, a, a))
	// Its subject is markup, shown as text; so is a filter word that is.
	poll("the subject shows as text", `[...document.querySelectorAll("#status .item:not([hidden]) .subject")].some(e => e.textContent.includes("<img src=x"))`)
	typeFilter("<img src=x onerror")
	poll("a filter word that is markup finds the subject", fmt.Sprintf(`%s.length > 0 && %s.every(n => n == "%d")`, shown, shown, a))
	noMarkup(ctx, t)

	// A reload keeps the filter: the server renders it from the URL.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#filter"))); err != nil {
		t.Fatal(err)
	}
	poll("the reloaded page keeps the filter", fmt.Sprintf(`document.getElementById("filter").value == "<img src=x onerror" && %s.length > 0 && %s.every(n => n == "%d")`, shown, shown, a))

	w.exec.Hold(false)
	w.exec.Release(0)
	w.waitFor("the changes merged", w.merged(a, b, c))
}
