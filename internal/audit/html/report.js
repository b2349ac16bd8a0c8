// The findings and the drill-down of the bulkhead audit page, rendered from
// the compact data in #report-data (see html_data.go: strings are indices
// into one table). Every name comes from a cluster and is untrusted: this
// script only sets textContent, never HTML.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("report-data").textContent);
  var S = data.strings || [];
  var findings = data.findings || [];
  var subjects = data.subjects || [];
  var ruleLists = data.ruleLists || [];
  var severities = ["none", "low", "medium", "high", "critical"];
  var levels = { read: true, write: true, admin: true };
  var PAGE = 100; // findings rendered per click in a group
  var LIST = 200; // subjects listed at once; the filter narrows them

  var drilldown = document.getElementById("drilldown");
  var list = document.getElementById("subjects");
  var shown = document.getElementById("subjects-shown");
  var filter = document.getElementById("subject-filter");

  var bySubject = new Map(); // subject name -> index in subjects
  subjects.forEach(function (s, i) { bySubject.set(S[s[0]], i); });
  var findingsOf = null; // subject name -> finding indices, on first use

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // T expands the text template S[i] of finding f: its subject, namespace
  // and tenant stand there as \x01, \x02 and \x03 (html_data.go).
  function T(f, i) {
    return S[i].split("\x03").join(S[f[3]]).split("\x02").join(S[f[5]]).split("\x01").join(S[f[4]]);
  }

  function sevName(n) { return severities[n] || "unknown"; }
  function levelClass(level) { return levels[level] ? level : "unknown"; }

  function dtdd(dl, term, value, className) {
    dl.appendChild(el("dt", "", term));
    var dd = el("dd", className);
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
    dl.appendChild(dd);
  }

  // renderFinding builds one finding: f = [rule, severity, pattern,
  // tenant, subject, namespace, [objects], message, fix, [pasteable],
  // [consequence, ...]?], a consequence being [rule, severity, pattern,
  // namespace, message].
  function renderFinding(i, className) {
    var f = findings[i];
    var sev = sevName(f[1]);
    var a = el("article", className + " sev-" + sev);
    a.dataset.severity = sev;
    a.dataset.rule = S[f[0]];
    a.dataset.tenant = S[f[3]];
    a.dataset.subject = S[f[4]];
    a.dataset.namespace = S[f[5]];
    var h = el("header");
    h.appendChild(el("span", "badge", sev));
    h.appendChild(document.createTextNode(" "));
    h.appendChild(el("code", "rule", S[f[0]]));
    if (f[2] > 0) {
      h.appendChild(document.createTextNode(" "));
      h.appendChild(el("span", "pattern muted", "ISOLATION.md #" + f[2]));
    }
    a.appendChild(h);
    a.appendChild(el("p", "message", T(f, f[7])));
    var dl = el("dl");
    if (S[f[3]]) dtdd(dl, "Tenant", S[f[3]], "tenant");
    if (S[f[4]]) {
      var b = el("button", "subject-link", S[f[4]]);
      b.type = "button";
      b.dataset.subject = S[f[4]];
      dtdd(dl, "Subject", b);
    }
    if (f[9] && f[9].length) {
      // As bulkhead can and who-can take it: select and paste.
      var paste = el("span", "pasteable");
      f[9].forEach(function (p, k) {
        if (k) paste.appendChild(document.createTextNode(" "));
        paste.appendChild(el("code", "", S[p]));
      });
      dtdd(dl, "As argument", paste);
    }
    dtdd(dl, "Namespace", S[f[5]] || el("span", "muted", "cluster scope"), "namespace");
    if (f[6].length) {
      var ul = el("ul", "objects");
      f[6].forEach(function (o) { ul.appendChild(el("li", "", T(f, o))); });
      dtdd(dl, "Objects", ul);
    }
    a.appendChild(dl);
    if (f[10] && f[10].length) {
      var cs = el("details", "consequences");
      cs.appendChild(el("summary", "", f[10].length + (f[10].length === 1 ? " consequence" : " consequences") +
        " of the same grant"));
      var cl = el("ul");
      f[10].forEach(function (c) {
        var li = el("li", "sev-" + sevName(c[1]));
        li.appendChild(el("span", "badge", sevName(c[1])));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(el("code", "rule", S[c[0]]));
        li.appendChild(document.createTextNode(" " + T(f, c[4])));
        cl.appendChild(li);
      });
      cs.appendChild(cl);
      a.appendChild(cs);
    }
    if (T(f, f[8])) {
      var fix = el("p", "fix");
      fix.appendChild(el("strong", "", "Fix:"));
      fix.appendChild(document.createTextNode(" " + T(f, f[8])));
      a.appendChild(fix);
    }
    return a;
  }

  // more renders the next page of a group's findings.
  function more(group) {
    var body = group.querySelector(".group-body");
    var start = Number(group.dataset.start), count = Number(group.dataset.count);
    var done = Number(group.dataset.rendered || 0);
    var old = body.querySelector("button.more");
    if (old) old.remove();
    var end = Math.min(count, done + PAGE);
    var frag = document.createDocumentFragment();
    for (var i = start + done; i < start + end; i++) frag.appendChild(renderFinding(i, "finding"));
    body.appendChild(frag);
    group.dataset.rendered = String(end);
    if (end < count) {
      var b = el("button", "more", "Show " + Math.min(PAGE, count - end) + " more of " + (count - end));
      b.type = "button";
      body.appendChild(b);
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("#findings details.rule-group"), function (g) {
    g.addEventListener("toggle", function () {
      if (g.open && !g.dataset.rendered) more(g);
    });
    if (g.open) more(g);
  });

  function grantsTable(grants) {
    var table = el("table", "grants");
    var head = table.createTHead().insertRow();
    ["Namespace", "Level", "Via", "Rules"].forEach(function (h) {
      var th = el("th", "", h);
      th.scope = "col";
      head.appendChild(th);
    });
    var body = table.createTBody();
    grants.forEach(function (g) {
      var ns = S[g[0]], level = S[g[1]];
      var tr = body.insertRow();
      tr.className = "grant";
      tr.dataset.namespace = ns;
      tr.dataset.level = level;
      tr.appendChild(el("td", "ns", ns === "*" ? "* (all namespaces)" : ns));
      tr.appendChild(el("td", "level level-" + levelClass(level), level));
      tr.appendChild(el("td", "via", S[g[2]]));
      var rules = el("td", "rules");
      var ul = el("ul");
      var lines = g.length > 4 ? g[4] : (ruleLists[g[3]] || []);
      lines.forEach(function (r) { ul.appendChild(el("li", "", S[r])); });
      rules.appendChild(ul);
      tr.appendChild(rules);
    });
    return table;
  }

  function show(name) {
    var i = bySubject.get(name);
    var s = i === undefined ? null : subjects[i];
    drilldown.replaceChildren();
    drilldown.dataset.subject = name;
    drilldown.appendChild(el("h3", "drill-subject", name));
    if (s && S[s[1]]) {
      drilldown.appendChild(el("p", "drill-tenant muted", "Tenant: " + S[s[1]]));
    }

    var actsAs = s ? s[2] : [];
    if (actsAs.length) {
      drilldown.appendChild(el("h4", "", "Can act as"));
      var ul = el("ul", "acts-as");
      actsAs.forEach(function (a) { ul.appendChild(el("li", "", S[a])); });
      drilldown.appendChild(ul);
    }

    drilldown.appendChild(el("h4", "", "Grants"));
    var grants = s ? s[3] : [];
    if (grants.length) {
      drilldown.appendChild(grantsTable(grants));
    } else {
      drilldown.appendChild(el("p", "no-grants muted", "No grants recorded for this subject."));
    }

    drilldown.appendChild(el("h4", "", "Findings"));
    if (!findingsOf) {
      findingsOf = new Map();
      findings.forEach(function (f, j) {
        var k = S[f[4]];
        if (!findingsOf.has(k)) findingsOf.set(k, []);
        findingsOf.get(k).push(j);
      });
    }
    var own = findingsOf.get(name) || [];
    if (own.length) {
      var box = el("div", "drill-findings");
      own.forEach(function (j) { box.appendChild(renderFinding(j, "drill-finding")); });
      drilldown.appendChild(box);
    } else {
      drilldown.appendChild(el("p", "no-findings muted", "No findings for this subject."));
    }

    Array.prototype.forEach.call(list.querySelectorAll(".subject"), function (b) {
      b.setAttribute("aria-pressed", b.dataset.subject === name ? "true" : "false");
    });
  }

  // listSubjects shows the first LIST subjects that match the filter.
  var texts = null;
  function listSubjects() {
    var q = filter.value.trim().toLowerCase();
    if (q && !texts) {
      texts = subjects.map(function (s) { return (S[s[0]] + " " + S[s[1]]).toLowerCase(); });
    }
    var pressed = drilldown.dataset.subject;
    var frag = document.createDocumentFragment();
    var matched = 0;
    for (var i = 0; i < subjects.length; i++) {
      if (q && texts[i].indexOf(q) < 0) continue;
      matched++;
      if (matched > LIST) continue;
      var s = subjects[i];
      var b = el("button", "subject sev-" + (s[5] ? sevName(s[5]) : "none"));
      b.type = "button";
      b.dataset.subject = S[s[0]];
      b.dataset.tenant = S[s[1]];
      b.setAttribute("aria-pressed", b.dataset.subject === pressed ? "true" : "false");
      b.appendChild(el("span", "name", S[s[0]]));
      b.appendChild(document.createTextNode(" "));
      var t = el("span", "tenant", S[s[1]]);
      if (s[4]) {
        t.appendChild(document.createTextNode(" "));
        t.appendChild(el("span", "badge", String(s[4])));
      }
      b.appendChild(t);
      var li = el("li");
      li.appendChild(b);
      frag.appendChild(li);
    }
    list.replaceChildren(frag);
    shown.textContent = matched > LIST
      ? "Showing " + LIST + " of " + matched + " subjects, the worst first; type to narrow."
      : "";
  }
  listSubjects();

  document.addEventListener("click", function (e) {
    var target = e.target instanceof Element ? e.target : null;
    var moreButton = target && target.closest("#findings button.more");
    if (moreButton) {
      more(moreButton.closest("details.rule-group"));
      return;
    }
    var button = target && target.closest("button.subject, button.subject-link");
    if (!button) return;
    show(button.dataset.subject);
    if (button.classList.contains("subject-link")) {
      drilldown.scrollIntoView({ block: "start" });
    }
  });

  filter.addEventListener("input", listSubjects);
})();
