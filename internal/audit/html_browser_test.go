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

	const criticalGroup = `#findings .rule-group[data-rule="cross-tenant-access"]`
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(criticalGroup+" .finding"))); err != nil {
		t.Fatalf("the critical findings are not visible: %v", err)
	}
	critical := evaluate[[]string](ctx, t,
		`[...document.querySelectorAll('#findings .rule-group[open] .finding')].map(f => f.dataset.rule + " " + f.dataset.severity + " " + f.querySelector(".message").textContent)`)
	if want := []string{"cross-tenant-access critical cross-tenant-access: ServiceAccount alice/alice-user holds RoleBinding bob/cross-tenant-access"}; !slices.Equal(critical, want) {
		t.Errorf("findings shown at first %q, want %q", critical, want)
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
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#findings .rule-group[data-rule="cluster-wide-grant"] > summary`))); err != nil {
		t.Fatalf("expand the high group: %v", err)
	}
	got = showSubject(ctx, t, `#findings .rule-group[data-rule="cluster-wide-grant"] .subject-link`)
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

// TestHTMLInBrowserConsequences opens the page of an audit where one grant
// causes several findings: the cause shows them inside, and the subject as
// can and who-can take it.
func TestHTMLInBrowserConsequences(t *testing.T) {
	snap, _, err := audit.ReadFiles([]string{"testdata/rules/acts-as-gains"}, nil)
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
	type shown struct {
		Paste        []string `json:"paste"`
		Consequences []string `json:"consequences"`
	}
	got := evaluate[[]shown](ctx, t, `[...document.querySelectorAll('#findings .rule-group[open] .finding[data-rule="acts-as"][data-subject="User dev"]')].map(f => ({
		paste: [...f.querySelectorAll(".pasteable code")].map(c => c.textContent),
		consequences: [...f.querySelectorAll(".consequences li .rule")].map(c => c.textContent)}))`)
	var all []string
	for _, g := range got {
		if !slices.Equal(g.Paste, []string{"user:dev"}) {
			t.Errorf("acts-as of dev shows the subject as %q, want [user:dev]", g.Paste)
		}
		all = append(all, g.Consequences...)
	}
	slices.Sort(all)
	if want := []string{"csr-approve", "nodes-proxy", "rolebinding-write"}; !slices.Equal(all, want) {
		t.Errorf("dev's acts-as findings show consequences %q, want %q", all, want)
	}
}

// TestHTMLInBrowserAtScale opens the page of the 5,000-tenant synthetic
// cluster: it must stay under 10 MB, list the findings of a group on
// demand, page through a large group and drill down into a subject. The time
// to interactive is logged, not asserted (make bench reports it).
func TestHTMLInBrowserAtScale(t *testing.T) {
	r := syntheticAuditAtScale(t)
	url := writePage(t, r)
	st, err := os.Stat(strings.TrimPrefix(url, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > maxPageBytes {
		t.Errorf("the page is %.1f MB, want at most %.0f MB", float64(st.Size())/1e6, float64(maxPageBytes)/1e6)
	}
	ctx := startChromium(t)
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("findings"))); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	loaded := time.Since(start)

	// The largest group, closed at first: expanding it renders one page.
	group := evaluate[struct {
		Rule     string `json:"rule"`
		Count    int    `json:"count"`
		Rendered int    `json:"rendered"`
	}](ctx, t, `(() => {
		const g = [...document.querySelectorAll("#findings .rule-group:not([open])")]
			.sort((a, b) => b.dataset.count - a.dataset.count)[0];
		return {rule: g.dataset.rule, count: Number(g.dataset.count), rendered: g.querySelectorAll(".finding").length};
	})()`)
	if group.Count <= 100 || group.Rendered != 0 {
		t.Fatalf("the largest closed group %+v: want more than 100 findings, none rendered before it is expanded", group)
	}
	sel := fmt.Sprintf(`#findings .rule-group[data-rule=%q]`, group.Rule)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(sel+" > summary")),
		chromedp.WaitVisible(chromedp.CSS(sel+" .finding")),
	); err != nil {
		t.Fatalf("expand %s: %v", group.Rule, err)
	}
	interactive := time.Since(start)
	count := func() int {
		return evaluate[int](ctx, t, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel+" .finding"))
	}
	if n := count(); n != 100 {
		t.Errorf("expanding %s rendered %d findings, want the first 100", group.Rule, n)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel+" button.more"))); err != nil {
		t.Fatalf("show more of %s: %v", group.Rule, err)
	}
	if n := count(); n != min(200, group.Count) {
		t.Errorf("show more of %s: %d findings, want %d", group.Rule, n, min(200, group.Count))
	}

	listed := evaluate[int](ctx, t, `document.querySelectorAll("#subjects .subject").length`)
	if listed != 200 {
		t.Errorf("the subject list shows %d of %d subjects, want the first 200", listed, len(r.Subjects))
	}
	// The worst subject first, with its findings in the drill-down.
	got := showSubject(ctx, t, "#subjects li:first-child .subject")
	if len(got.Grants) == 0 || len(got.Findings) == 0 {
		t.Errorf("drill-down of the first subject: %+v, want grants and findings", got)
	}
	const needle = "tenant-04321"
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("subject-filter"), needle)); err != nil {
		t.Fatalf("type into the subject filter: %v", err)
	}
	names := evaluate[[]string](ctx, t, `[...document.querySelectorAll("#subjects .subject")].map(b => b.dataset.subject + " " + b.dataset.tenant)`)
	want := 0
	for _, s := range r.Subjects {
		if strings.Contains(strings.ToLower(s.Subject+" "+s.Tenant), needle) {
			want++
		}
	}
	if want == 0 || len(names) != want {
		t.Errorf("filter %q lists %d subjects (%q), want %d", needle, len(names), names, want)
	}
	t.Logf("%d tenants, %d findings, %d subjects: %.1f MB; loaded in %s, first group (%d findings) expanded after %s",
		len(r.Tenants), len(r.Findings), len(r.Subjects), float64(st.Size())/1e6, loaded.Round(time.Millisecond), group.Count, interactive.Round(time.Millisecond))
}
