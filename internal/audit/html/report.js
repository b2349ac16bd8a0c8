// The drill-down of the bulkhead audit page. Every name comes from a cluster
// and is untrusted: this script only sets textContent, never HTML.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("report-data").textContent);
  var subjects = new Map();
  (data.subjects || []).forEach(function (s) { subjects.set(s.subject, s); });

  var drilldown = document.getElementById("drilldown");
  var list = document.getElementById("subjects");
  var filter = document.getElementById("subject-filter");
  var levels = { read: true, write: true, admin: true };

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function levelClass(level) {
    return levels[level] ? level : "unknown";
  }

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
      var tr = body.insertRow();
      tr.className = "grant";
      tr.dataset.namespace = g.namespace;
      tr.dataset.level = g.level;
      tr.appendChild(el("td", "ns", g.namespace === "*" ? "* (all namespaces)" : g.namespace));
      tr.appendChild(el("td", "level level-" + levelClass(g.level), g.level));
      tr.appendChild(el("td", "via", g.via));
      var rules = el("td", "rules");
      var ul = el("ul");
      (g.rules || (data.ruleLists || [])[g.ruleList] || []).forEach(function (r) { ul.appendChild(el("li", "", r)); });
      rules.appendChild(ul);
      tr.appendChild(rules);
    });
    return table;
  }

  function show(name) {
    var s = subjects.get(name);
    drilldown.replaceChildren();
    drilldown.dataset.subject = name;
    drilldown.appendChild(el("h3", "drill-subject", name));
    if (s && s.tenant) {
      drilldown.appendChild(el("p", "drill-tenant muted", "Tenant: " + s.tenant));
    }

    var actsAs = (s && s.actsAs) || [];
    if (actsAs.length) {
      drilldown.appendChild(el("h4", "", "Can act as"));
      var ul = el("ul", "acts-as");
      actsAs.forEach(function (a) { ul.appendChild(el("li", "", a)); });
      drilldown.appendChild(ul);
    }

    drilldown.appendChild(el("h4", "", "Grants"));
    var grants = (s && s.grants) || [];
    if (grants.length) {
      drilldown.appendChild(grantsTable(grants));
    } else {
      drilldown.appendChild(el("p", "no-grants muted", "No grants recorded for this subject."));
    }

    drilldown.appendChild(el("h4", "", "Findings"));
    var own = Array.prototype.filter.call(
      document.querySelectorAll("#findings .finding"),
      function (f) { return f.dataset.subject === name; });
    if (own.length) {
      var box = el("div", "drill-findings");
      own.forEach(function (f) {
        var c = f.cloneNode(true);
        c.classList.replace("finding", "drill-finding");
        box.appendChild(c);
      });
      drilldown.appendChild(box);
    } else {
      drilldown.appendChild(el("p", "no-findings muted", "No findings for this subject."));
    }

    Array.prototype.forEach.call(list.querySelectorAll(".subject"), function (b) {
      b.setAttribute("aria-pressed", b.dataset.subject === name ? "true" : "false");
    });
  }

  document.addEventListener("click", function (e) {
    var target = e.target instanceof Element ? e.target : null;
    var button = target && target.closest("button.subject, button.subject-link");
    if (!button) return;
    show(button.dataset.subject);
    if (button.classList.contains("subject-link")) {
      drilldown.scrollIntoView({ block: "start" });
    }
  });

  filter.addEventListener("input", function () {
    var q = filter.value.trim().toLowerCase();
    Array.prototype.forEach.call(list.children, function (li) {
      var b = li.firstElementChild;
      var text = (b.dataset.subject + " " + b.dataset.tenant).toLowerCase();
      li.hidden = q !== "" && text.indexOf(q) < 0;
    });
  });
})();
