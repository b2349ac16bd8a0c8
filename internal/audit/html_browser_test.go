package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

const chromiumPath = "/usr/bin/chromium"

// TestHTMLInBrowser opens the page in headless Chromium: the heatmap, the
// findings and the drill-down must work as a reader sees them, with the
// inline CSS and script allowed by the page's own Content Security Policy.
func TestHTMLInBrowser(t *testing.T) {
	ctx := startChromium(t)
	r := sampleReport()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(writePage(t, r)),
		chromedp.WaitVisible(chromedp.ID("heatmap")),
	); err != nil {
		t.Fatalf("open the page: %v", err)
	}

	heat := evaluate[struct {
		Cells   int      `json:"cells"`
		Cross   []string `json:"cross"`
		Outline string   `json:"outline"`
	}](ctx, t, `(() => {
		const cells = [...document.querySelectorAll("#heatmap td.cell")];
		const cross = cells.filter(c => c.classList.contains("cross"));
		return {
			cells: cells.length,
			cross: cross.map(c => c.closest("tr").dataset.tenant + "→" + c.dataset.namespace),
			outline: cross.length ? getComputedStyle(cross[0]).outlineStyle : "",
		};
	})()`)
	if heat.Cells != len(r.Access) {
		t.Errorf("the heatmap shows %d cells, want %d", heat.Cells, len(r.Access))
	}
	if want := []string{"alice→bob"}; !slices.Equal(heat.Cross, want) {
		t.Errorf("cross-tenant cells %v, want %v", heat.Cross, want)
	}
	if heat.Outline != "solid" {
		t.Errorf("the cross-tenant cell has outline %q, want solid: is the stylesheet blocked?", heat.Outline)
	}

	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#findings-critical .finding"))); err != nil {
		t.Fatalf("the critical findings are not visible: %v", err)
	}
	critical := evaluate[[]string](ctx, t,
		`[...document.querySelectorAll("#findings-critical .finding")].map(f => f.dataset.rule)`)
	if want := []string{"cross-tenant-access"}; !slices.Equal(critical, want) {
		t.Errorf("critical findings %v, want %v", critical, want)
	}

	const alice = "ServiceAccount alice/alice-user"
	got := showSubject(ctx, t, fmt.Sprintf(`#subjects .subject[data-subject=%q]`, alice))
	want := drilldown{
		Subject: alice, Heading: alice, Pressed: []string{alice},
		Grants:   []string{"alice admin RoleBinding alice/admin", "bob write RoleBinding bob/open-door"},
		Rules:    []string{"* *", "create,update deployments", "get pods"},
		ActsAs:   []string{"ServiceAccount alice/ci"},
		Findings: []string{"cross-tenant-access", "aggregated-clusterrole"},
	}
	if diff := want.diff(got); diff != "" {
		t.Errorf("drill-down of %s: %s", alice, diff)
	}

	// The name is markup; the drill-down must show it as text.
	got = showSubject(ctx, t, fmt.Sprintf(`#subjects .subject[data-subject=%q]`, xssName))
	if got.Heading != xssName || len(got.Grants) != 1 || !slices.Equal(got.Findings, []string{"legacy-token"}) {
		t.Errorf("drill-down of %s: %+v", xssName, got)
	}

	// A subject named in a finding opens its drill-down too.
	got = showSubject(ctx, t, "#findings-high .subject-link")
	if got.Subject != "ServiceAccount bob/bob-user" || len(got.Grants) != 2 {
		t.Errorf("the subject link of the high finding opened %+v", got)
	}

	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("subject-filter"), "bob")); err != nil {
		t.Fatalf("type into the subject filter: %v", err)
	}
	listed := evaluate[[]string](ctx, t,
		`[...document.querySelectorAll("#subjects li:not([hidden]) .subject")].map(b => b.dataset.subject)`)
	if want := []string{"ServiceAccount bob/bob-user"}; !slices.Equal(listed, want) {
		t.Errorf("filter %q lists %v, want %v", "bob", listed, want)
	}
}

// TestHTMLInBrowserWithoutFindings checks that the script copes with a report
// that has nothing in it.
func TestHTMLInBrowserWithoutFindings(t *testing.T) {
	ctx := startChromium(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(writePage(t, newHTMLReport("empty").build())),
		chromedp.WaitVisible(chromedp.ID("no-findings")),
		chromedp.SendKeys(chromedp.ID("subject-filter"), "x"),
	); err != nil {
		t.Fatalf("open the empty page: %v", err)
	}
}

type drilldown struct {
	Subject  string   `json:"subject"`
	Heading  string   `json:"heading"`
	Pressed  []string `json:"pressed"`
	Grants   []string `json:"grants"`
	Rules    []string `json:"rules"`
	ActsAs   []string `json:"actsAs"`
	Findings []string `json:"findings"`
}

func (want drilldown) diff(got drilldown) string {
	var d []string
	check := func(name string, w, g []string) {
		if !slices.Equal(w, g) {
			d = append(d, fmt.Sprintf("%s %q, want %q", name, g, w))
		}
	}
	check("subject", []string{want.Subject}, []string{got.Subject})
	check("heading", []string{want.Heading}, []string{got.Heading})
	check("pressed", want.Pressed, got.Pressed)
	check("grants", want.Grants, got.Grants)
	check("rules", want.Rules, got.Rules)
	check("acts as", want.ActsAs, got.ActsAs)
	check("findings", want.Findings, got.Findings)
	return strings.Join(d, "; ")
}

// showSubject clicks the element that selector finds and reads #drilldown.
func showSubject(ctx context.Context, t *testing.T, selector string) drilldown {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(selector)),
		chromedp.WaitVisible(chromedp.CSS("#drilldown h3.drill-subject")),
	); err != nil {
		t.Fatalf("click %s: %v", selector, err)
	}
	return evaluate[drilldown](ctx, t, `(() => {
		const d = document.getElementById("drilldown");
		const texts = sel => [...d.querySelectorAll(sel)].map(e => e.textContent);
		return {
			subject: d.dataset.subject,
			heading: d.querySelector("h3.drill-subject").textContent,
			pressed: [...document.querySelectorAll('#subjects .subject[aria-pressed="true"]')].map(b => b.dataset.subject),
			grants: [...d.querySelectorAll("tr.grant")].map(r =>
				[r.dataset.namespace, r.dataset.level, r.querySelector(".via").textContent].join(" ")),
			rules: texts("tr.grant .rules li"),
			actsAs: texts("ul.acts-as li"),
			findings: [...d.querySelectorAll(".drill-finding")].map(f => f.dataset.rule),
		};
	})()`)
}

func evaluate[T any](ctx context.Context, t *testing.T, expression string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.Fatalf("evaluate in the page: %v", err)
	}
	return v
}

func writePage(t *testing.T, r *audit.Report) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.WriteHTML(f, r); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return "file://" + filepath.ToSlash(path)
}

// startChromium starts a headless Chromium with a fresh profile for the test
// and returns the context of one tab. Every console error, uncaught
// exception, dialog and fetch of anything but the page itself fails the test
// when it ends.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("install chromium: apt-get install -y chromium (%v)", err)
		}
		t.Skipf("no %s; install chromium: apt-get install -y chromium", chromiumPath)
	}
	profile := t.TempDir()

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	ctx, cancelBrowser := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	)
	t.Cleanup(cancelBrowser) // runs before the profile is removed

	var problems pageProblems
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithListener(problems.listen))
	t.Cleanup(cancelTab)
	t.Cleanup(func() {
		for _, p := range problems.list() {
			t.Errorf("page: %s", p)
		}
	})
	return ctx
}

// pageProblems collects what a correct page never does.
type pageProblems struct {
	mu       sync.Mutex
	problems []string
}

// listen runs in the tab's event loop: it must return fast and send nothing.
func (p *pageProblems) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, firstNonEmpty(a.Description, string(a.Value)))
			}
			problem = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		desc := d.Text
		if d.Exception != nil {
			desc += " " + d.Exception.Description
		}
		problem = fmt.Sprintf("uncaught exception at %d:%d: %s", d.LineNumber+1, d.ColumnNumber+1, desc)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			problem = fmt.Sprintf("%s error: %s", ev.Entry.Source, ev.Entry.Text)
		}
	case *network.EventRequestWillBeSent:
		if u := ev.Request.URL; !strings.HasPrefix(u, "file:") && !strings.HasPrefix(u, "data:") {
			problem = "fetch " + u
		}
	case *page.EventJavascriptDialogOpening:
		problem = fmt.Sprintf("%s dialog: %s", ev.Type, ev.Message)
	}
	if problem != "" {
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		p.mu.Unlock()
	}
}

func (p *pageProblems) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.problems)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestHTMLInBrowserOfAnAudit opens the page of a real audit (the hand
// procedure's manifests), whose grants name their rules by index into the
// report's shared rule lists.
func TestHTMLInBrowserOfAnAudit(t *testing.T) {
	snap, _, err := audit.ReadFiles([]string{"testdata/procedure"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tenants, err := audit.Tenants(snap, audit.TenantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Run(snap, tenants)
	if err != nil {
		t.Fatal(err)
	}
	ctx := startChromium(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(writePage(t, r)), chromedp.WaitVisible(chromedp.ID("findings"))); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	const bob = "ServiceAccount bob/bob-user"
	got := showSubject(ctx, t, fmt.Sprintf(`#subjects .subject[data-subject=%q]`, bob))
	if want := []string{"* *,*.extensions,*.apps,*.batch"}; !slices.Equal(got.Rules, want) {
		t.Errorf("rules of %s: %q, want %q", bob, got.Rules, want)
	}
	if !slices.Contains(got.Findings, "guardrail-write") {
		t.Errorf("findings of %s: %q, want guardrail-write among them", bob, got.Findings)
	}
}
