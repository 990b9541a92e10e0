/* mfb docs site: hand-written, no libraries, no network.
 *
 * Data: #mfb-index (JSON inlined in index.html) holds every node's name, description,
 * column names, graph edges and precomputed layout. Per-node details (SQL, columns with
 * tests and lineage, config, results) come in chunks: inlined #mfb-chunk-N elements in
 * the single-file site, or docs-assets/data/chunk-N.js files loaded on demand.
 *
 * Routes (location.hash): #!/ overview, #!/node/<id>, #!/graph, #!/graph/<id>?up=N&down=N,
 * #!/columns/<id>, #!/security.
 */
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("mfb-index").textContent);
  var nodes = D.nodes;
  var byId = Object.create(null);
  var i, j;
  for (i = 0; i < nodes.length; i++) {
    nodes[i].i = i;
    nodes[i].down = [];
    byId[nodes[i].id] = nodes[i];
  }
  for (i = 0; i < nodes.length; i++) {
    for (j = 0; j < nodes[i].up.length; j++) nodes[nodes[i].up[j]].down.push(i);
  }

  var perf = (window.mfbDocsPerf = []);
  // nodes named in a security finding (drawn with a red mark in the graph)
  var flaggedNode = new Uint8Array(nodes.length);
  D.security.forEach(function (f) {
    flaggedNode[f.reader] = 1;
  });
  var main = document.getElementById("main");

  /* ---------- helpers ---------- */

  function esc(s) {
    return String(s == null ? "" : s)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }
  function link(id, text) {
    return '<a href="#!/node/' + encodeURIComponent(id) + '">' + esc(text) + "</a>";
  }
  function nodeLink(id) {
    var n = byId[id];
    return n ? link(id, label(n)) : esc(id);
  }
  function label(n) {
    return n.type === "source" && n.source ? n.source + "." + n.name : n.name;
  }
  function badge(text, cls) {
    return '<span class="badge ' + esc(cls || text) + '">' + esc(text) + "</span>";
  }
  function statusBadge(s) {
    if (!s) return "";
    var cls = s === "success" || s === "pass" ? "ok" : s === "warn" || s === "skipped" ? "warn" : "bad";
    return badge(s, "st-" + cls);
  }
  var RLS_TEXT = {
    protected: "RLS protected",
    unprotected: "no RLS",
    invoker: "view, caller's rights",
    definer: "view, owner's rights",
    view: "view (rights unknown)",
    stored: "materialized view: no RLS",
    none: "not a relation"
  };
  function rlsBadge(s) {
    return badge(RLS_TEXT[s] || s, "rls-" + s);
  }
  function count(list, f) {
    var c = {};
    for (var k = 0; k < list.length; k++) {
      var v = f(list[k]);
      if (v != null) c[v] = (c[v] || 0) + 1;
    }
    return c;
  }

  /* ---------- details in chunks ---------- */

  var chunks = Object.create(null);
  var waiting = Object.create(null);
  window.mfbDocsChunk = function (k, data) {
    chunks[k] = data;
    var w = waiting[k] || [];
    delete waiting[k];
    for (var q = 0; q < w.length; q++) w[q](data);
  };
  function details(n, cb) {
    var k = Math.floor(n.i / D.chunk_size);
    if (chunks[k]) return cb(chunks[k][n.id]);
    var el = document.getElementById("mfb-chunk-" + k);
    if (el) {
      chunks[k] = JSON.parse(el.textContent);
      return cb(chunks[k][n.id]);
    }
    var first = !waiting[k];
    (waiting[k] = waiting[k] || []).push(function (d) {
      cb(d[n.id]);
    });
    if (first) {
      var s = document.createElement("script");
      s.src = (window.mfbDocsData || "docs-assets/data/") + "chunk-" + k + ".js";
      s.onerror = function () {
        main.innerHTML = '<p class="error">Cannot load ' + esc(s.src) + ". Regenerate the site with <code>mfb docs generate</code>.</p>";
      };
      document.head.appendChild(s);
    }
  }
  function allDetails(list, cb) {
    var left = list.length;
    var out = {};
    if (!left) return cb(out);
    list.forEach(function (n) {
      details(n, function (d) {
        out[n.id] = d;
        if (--left === 0) cb(out);
      });
    });
  }

  /* ---------- search ---------- */

  var search = document.getElementById("search");
  var resultsEl = document.getElementById("results");
  var hay = null;
  function haystack() {
    if (hay) return hay;
    hay = nodes.map(function (n) {
      return {
        name: label(n).toLowerCase(),
        desc: (n.desc || "").toLowerCase(),
        cols: n.cols.map(function (c) {
          return c.toLowerCase();
        })
      };
    });
    return hay;
  }
  function find(q) {
    q = q.trim().toLowerCase();
    if (!q) return [];
    var h = haystack();
    var out = [];
    for (var k = 0; k < nodes.length; k++) {
      var e = h[k];
      var score = 0;
      var why = "";
      if (e.name === q) score = 100;
      else if (e.name.indexOf(q) === 0) score = 80;
      else if (e.name.indexOf(q) >= 0) score = 60;
      for (var c = 0; c < e.cols.length && score < 60; c++) {
        if (e.cols[c] === q) {
          score = 50;
          why = "column " + nodes[k].cols[c];
        } else if (score < 40 && e.cols[c].indexOf(q) >= 0) {
          score = 40;
          why = "column " + nodes[k].cols[c];
        }
      }
      if (!score && e.desc.indexOf(q) >= 0) {
        score = 20;
        why = "description";
      }
      if (score) out.push({ n: nodes[k], score: score, why: why });
    }
    out.sort(function (a, b) {
      return b.score - a.score || (a.n.name < b.n.name ? -1 : a.n.name > b.n.name ? 1 : 0);
    });
    return out;
  }
  function showResults() {
    var q = search.value;
    var tree = document.getElementById("tree");
    if (!q.trim()) {
      resultsEl.innerHTML = "";
      tree.hidden = false;
      return;
    }
    tree.hidden = true;
    var found = find(q);
    var html = ['<div class="muted small">' + found.length + " match" + (found.length === 1 ? "" : "es") + "</div>"];
    for (var k = 0; k < found.length && k < 60; k++) {
      var r = found[k];
      html.push(
        '<a class="result" data-id="' + esc(r.n.id) + '" href="#!/node/' + encodeURIComponent(r.n.id) + '">' +
          badge(r.n.type, "t-" + r.n.type) + " " + esc(label(r.n)) +
          (r.why ? '<span class="why">' + esc(r.why) + "</span>" : "") + "</a>"
      );
    }
    if (found.length > 60) html.push('<div class="muted small">… ' + (found.length - 60) + " more: type more to narrow</div>");
    resultsEl.innerHTML = html.join("");
  }
  search.addEventListener("input", showResults);
  search.addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      var first = resultsEl.querySelector("a.result");
      if (first) location.hash = first.getAttribute("href");
    }
  });

  /* ---------- the tree (groups filled when opened) ---------- */

  var TYPE_TITLE = { source: "Sources", seed: "Seeds", model: "Models", snapshot: "Snapshots", analysis: "Analyses", exposure: "Exposures" };
  function folderOf(n) {
    if (n.type === "source") return n.source || "";
    var p = n.path || "";
    var cut = p.lastIndexOf("/");
    return cut > 0 ? p.slice(0, cut) : "";
  }
  function renderTree() {
    var groups = {};
    var order = [];
    nodes.forEach(function (n) {
      var key = n.type + "\u0000" + folderOf(n);
      if (!groups[key]) {
        groups[key] = [];
        order.push(key);
      }
      groups[key].push(n);
    });
    var html = [];
    var lastType = null;
    order.forEach(function (key) {
      var type = key.split("\u0000")[0];
      var folder = key.split("\u0000")[1];
      if (type !== lastType) {
        html.push('<div class="tree-type">' + esc(TYPE_TITLE[type] || type) + "</div>");
        lastType = type;
      }
      html.push('<details data-group="' + esc(key) + '"><summary>' + esc(folder || "(top)") + ' <span class="muted">' + groups[key].length + "</span></summary></details>");
    });
    var tree = document.getElementById("tree");
    tree.innerHTML = html.join("");
    tree.addEventListener(
      "toggle",
      function (e) {
        var d = e.target;
        if (!d.open || d.dataset.filled) return;
        d.dataset.filled = "1";
        var list = groups[d.dataset.group].slice().sort(function (a, b) {
          return a.name < b.name ? -1 : 1;
        });
        d.insertAdjacentHTML(
          "beforeend",
          list.map(function (n) {
            return '<a class="tree-node" href="#!/node/' + encodeURIComponent(n.id) + '">' + esc(label(n)) + "</a>";
          }).join("")
        );
      },
      true
    );
  }

  /* ---------- pages ---------- */

  function setNav(which) {
    var links = document.querySelectorAll("nav a");
    for (var k = 0; k < links.length; k++) links[k].classList.toggle("active", links[k].dataset.nav === which);
  }

  function overview() {
    setNav("overview");
    var types = count(nodes, function (n) {
      return n.type;
    });
    var st = count(nodes, function (n) {
      return n.status;
    });
    var rls = count(nodes, function (n) {
      return n.rls === "none" ? null : n.rls;
    });
    var html = ["<h1>" + esc(D.project || "Project") + "</h1>"];
    html.push('<p class="muted">Generated ' + esc(D.generated_at || "") + (D.has_catalog ? "" : " · no catalog (built without a database)") + "</p>");
    html.push('<div class="cards">');
    Object.keys(TYPE_TITLE).forEach(function (t) {
      if (types[t]) html.push('<div class="card"><b>' + types[t] + "</b> " + esc(TYPE_TITLE[t].toLowerCase()) + "</div>");
    });
    html.push("</div>");
    if (D.run) {
      html.push("<h2>Last run</h2><p>" + esc(D.run.command || "run") + " at " + esc(D.run.generated_at || "?") + ": " +
        Object.keys(st).map(function (k) {
          return statusBadge(k) + " " + st[k];
        }).join(" ") + "</p>");
    }
    html.push("<h2>Row-level security</h2><p>" + Object.keys(rls).map(function (k) {
      return rlsBadge(k) + " " + rls[k];
    }).join(" ") + "</p>");
    if (D.security.length) {
      html.push('<p class="warn-text">' + D.security.length + ' finding(s): protected rows readable without their policy. <a href="#!/security">See the security overview</a>.</p>');
    }
    html.push('<p><a class="button" href="#!/graph">Open the lineage graph</a> <a class="button" href="#!/security">Security overview</a></p>');
    main.innerHTML = html.join("");
  }

  function section(title, body, id) {
    return "<section" + (id ? ' id="' + id + '"' : "") + "><h2>" + esc(title) + "</h2>" + body + "</section>";
  }

  function nodePage(id) {
    setNav("");
    var n = byId[id];
    if (!n) {
      main.innerHTML = '<p class="error">No node ' + esc(id) + " in this project.</p>";
      return;
    }
    main.innerHTML = "<h1>" + esc(label(n)) + "</h1><p class=\"muted\">Loading…</p>";
    details(n, function (d) {
      if (location.hash !== "#!/node/" + encodeURIComponent(id)) return;
      renderNode(n, d || {});
    });
  }

  function renderNode(n, d) {
    var html = ['<div class="node-page" data-id="' + esc(n.id) + '">'];
    html.push("<h1>" + esc(label(n)) + " " + badge(n.type, "t-" + n.type) + (n.mat ? " " + badge(n.mat, "mat") : "") + " " + rlsBadge(n.rls) + " " + statusBadge(n.status) + "</h1>");
    html.push('<p class="muted"><code>' + esc(d.relation || n.id) + "</code> · " + esc(n.path) + "</p>");
    html.push('<p class="actions"><a class="button" id="show-graph" href="#!/graph/' + encodeURIComponent(n.id) + '">Lineage graph</a> ');
    var hasLineage = (d.columns || []).some(function (c) {
      return c.lineage && c.lineage.length;
    });
    if (hasLineage) html.push('<a class="button" id="show-columns" href="#!/columns/' + encodeURIComponent(n.id) + '">Column lineage</a>');
    html.push("</p>");
    html.push('<div class="description">' + (d.description ? esc(d.description) : '<span class="muted">No description.</span>') + "</div>");

    // Columns
    var cols = d.columns || [];
    var rows = cols.map(function (c) {
      var tests = (c.tests || []).map(function (t) {
        return '<span class="test" title="' + esc(t.id + (t.message ? ": " + t.message : "")) + '">' + esc(t.name) + " " + statusBadge(t.status) + "</span>";
      }).join(" ");
      var lin = (c.lineage || []).map(function (l) {
        var up = byId[l.node];
        return '<span class="lin">' + (up ? link(l.node, label(up) + "." + l.column) : esc(l.node + "." + l.column)) + (l.kind ? ' <span class="muted">' + esc(l.kind) + "</span>" : "") + "</span>";
      }).join("<br>");
      return '<tr data-col="' + esc(c.name) + '"><td><code>' + esc(c.name) + "</code></td><td>" + esc(c.type || "") + "</td><td>" + esc(c.description || "") + "</td><td>" + tests + "</td><td>" + lin + "</td></tr>";
    });
    html.push(section("Columns", cols.length ? '<table class="cols"><thead><tr><th>Column</th><th>Type</th><th>Description</th><th>Tests</th><th>Lineage</th></tr></thead><tbody>' + rows.join("") + "</tbody></table>" : '<p class="muted">No columns known (no catalog and none documented).</p>', "columns"));

    if ((d.tests || []).length) {
      html.push(section("Tests", "<ul>" + d.tests.map(function (t) {
        return "<li>" + esc(t.name) + " " + statusBadge(t.status) + ' <span class="muted">' + esc(t.id) + "</span></li>";
      }).join("") + "</ul>"));
    }

    // Last run
    if (d.run) {
      html.push(section("Last run", "<p>" + statusBadge(d.run.status) + " " + (d.run.time != null ? d.run.time.toFixed(2) + " s" : "") + (d.run.completed_at ? ' <span class="muted">completed ' + esc(d.run.completed_at) + "</span>" : "") + "</p>" + (d.run.message ? "<pre>" + esc(d.run.message) + "</pre>" : ""), "run"));
    } else {
      html.push(section("Last run", '<p class="muted">Not in run_results.json.</p>', "run"));
    }

    // RLS
    var r = d.rls || {};
    var rl = ["<p>" + rlsBadge(r.status || n.rls) + (r.verified ? ' <span class="muted">(from the database catalog)</span>' : r.status === "none" ? "" : ' <span class="muted">(from the config; no catalog entry)</span>') + "</p>"];
    if (r.declared) {
      rl.push("<table class=\"kv\"><tr><th>Tenant column</th><td><code>" + esc(r.declared.tenant_column) + "</code></td></tr><tr><th>Mode</th><td>" + esc(r.declared.mode) + "</td></tr><tr><th>Forced</th><td>" + esc(r.declared.force) + "</td></tr>" + (r.declared.setting ? "<tr><th>Setting</th><td>" + esc(r.declared.setting) + "</td></tr>" : "") + "</table>");
    }
    if (r.policies && r.policies.length) {
      rl.push('<table class="policies"><thead><tr><th>Policy</th><th>Command</th><th>Roles</th><th>Using</th></tr></thead><tbody>' + r.policies.map(function (p) {
        return "<tr><td>" + esc(p.name) + "</td><td>" + esc(p.command) + "</td><td>" + esc((p.roles || []).join(", ")) + "</td><td><code>" + esc(p.using) + "</code></td></tr>";
      }).join("") + "</tbody></table>");
    }
    var flags = D.security.filter(function (f) {
      return f.reader === n.i || f.table === n.i;
    });
    if (flags.length) rl.push("<ul class=\"flags\">" + flags.map(flagText).join("") + "</ul>");
    html.push(section("Row-level security", rl.join(""), "rls"));

    // Details
    var kv = [];
    function row(k, v) {
      if (v != null && v !== "" && !(Array.isArray(v) && !v.length)) kv.push("<tr><th>" + esc(k) + "</th><td>" + v + "</td></tr>");
    }
    row("Database", esc(d.database));
    row("Schema", esc(d.schema));
    row("Alias", esc(d.alias));
    row("Package", esc(n.pkg));
    row("Tags", esc((d.tags || []).join(", ")));
    if (d.catalog) {
      row("Relation type", esc(d.catalog.kind));
      row("Owner", esc(d.catalog.owner));
      row("Rows (estimate)", esc(d.catalog.rows));
      row("Size", d.catalog.bytes != null ? esc(Math.round(d.catalog.bytes / 1024) + " kB") : null);
    }
    row("Loader", esc(d.loader));
    row("URL", d.url ? "<code>" + esc(d.url) + "</code>" : null);
    html.push(section("Details", '<table class="kv">' + kv.join("") + "</table>"));

    html.push(section("Depends on", n.up.length ? "<ul class=\"deps\">" + n.up.map(function (p) {
      return "<li>" + badge(nodes[p].type, "t-" + nodes[p].type) + " " + nodeLink(nodes[p].id) + "</li>";
    }).join("") + "</ul>" : '<p class="muted">Nothing.</p>', "depends-on"));
    html.push(section("Referenced by", n.down.length ? "<ul class=\"deps\">" + n.down.map(function (c) {
      return "<li>" + badge(nodes[c].type, "t-" + nodes[c].type) + " " + nodeLink(nodes[c].id) + "</li>";
    }).join("") + "</ul>" : '<p class="muted">Nothing.</p>', "referenced-by"));

    if (d.raw != null || d.compiled != null) {
      html.push(section("Code", '<div class="tabs"><button data-code="raw" class="active">Source</button><button data-code="compiled">Compiled</button></div><pre class="code" id="code-raw"><code>' + esc(d.raw || "") + '</code></pre><pre class="code" id="code-compiled" hidden><code>' + esc(d.compiled != null ? d.compiled : "(not compiled: run mfb docs generate without --no-compile)") + "</code></pre>", "code"));
    }
    html.push(section("Config", "<pre class=\"code\"><code>" + esc(JSON.stringify(d.config || {}, null, 2)) + "</code></pre>", "config"));
    html.push("</div>");
    main.innerHTML = html.join("");
    main.scrollTop = 0;
    sinceClick("open");
    var tabs = main.querySelectorAll("[data-code]");
    for (var k = 0; k < tabs.length; k++) {
      tabs[k].addEventListener("click", function (e) {
        var which = e.target.dataset.code;
        for (var q = 0; q < tabs.length; q++) tabs[q].classList.toggle("active", tabs[q] === e.target);
        document.getElementById("code-raw").hidden = which !== "raw";
        document.getElementById("code-compiled").hidden = which !== "compiled";
      });
    }
  }

  // After a click in the graph: the time from the click to the next drawn frame.
  function sinceClick(kind) {
    if (!G.clickT) return;
    var t0 = G.clickT;
    G.clickT = 0;
    requestAnimationFrame(function () {
      setTimeout(function () {
        perf.push({ kind: kind, ms: performance.now() - t0 });
      }, 0);
    });
  }

  /* ---------- security overview ---------- */

  var FLAG_TEXT = {
    definer_view: "reads it with its owner's rights (not security_invoker): a tenant role that can select from the view sees every tenant's rows",
    materialized_view: "stores a copy of it without row-level security",
    unprotected_copy: "copies its rows into a table without row-level security"
  };
  function flagText(f) {
    return '<li class="flag" data-kind="' + esc(f.kind) + '">' + nodeLink(nodes[f.reader].id) + " " + esc(FLAG_TEXT[f.kind] || f.kind) + ": protected " + nodeLink(nodes[f.table].id) + "</li>";
  }

  function securityPage() {
    setNav("security");
    var rels = nodes.filter(function (n) {
      return n.rls !== "none";
    });
    var html = ["<h1>Security overview</h1>"];
    html.push('<p class="muted">Every relation with its row-level-security status' + (D.has_catalog ? " as the database catalog reports it." : ". There is no catalog, so this is what the configs declare; run <code>mfb docs generate</code> against the database to check it.") + "</p>");
    html.push("<h2>Findings</h2>");
    html.push(D.security.length ? '<ul class="flags">' + D.security.map(flagText).join("") + "</ul>" : '<p class="ok-text">No protected table is readable through a non-invoker view, a materialized view or an unprotected copy.</p>');
    html.push("<h2>Relations (" + rels.length + ")</h2>");
    html.push('<table class="security"><thead><tr><th>Relation</th><th>Type</th><th>Status</th><th>Flags</th></tr></thead><tbody>');
    var flagged = {};
    D.security.forEach(function (f) {
      flagged[f.reader] = (flagged[f.reader] || 0) + 1;
      flagged[f.table] = (flagged[f.table] || 0) + 1;
    });
    rels.forEach(function (n) {
      html.push('<tr data-id="' + esc(n.id) + '"><td>' + link(n.id, label(n)) + "</td><td>" + esc(n.mat || n.type) + "</td><td>" + rlsBadge(n.rls) + "</td><td>" + (flagged[n.i] ? badge(flagged[n.i] + " finding(s)", "st-bad") : "") + "</td></tr>");
    });
    html.push("</tbody></table>");
    main.innerHTML = html.join("");
  }

  /* ---------- the lineage graph (canvas) ---------- */

  var COLW = 240, ROWH = 34, BOXW = 190, BOXH = 24;
  var TYPE_COLOR = { source: "#2f855a", seed: "#6b46c1", model: "#2b6cb0", snapshot: "#b7791f", analysis: "#718096", exposure: "#c05621" };
  var G = {
    canvas: null, ctx: null, w: 0, h: 0, dpr: 1,
    scale: 1, ox: 0, oy: 0,
    focus: null, up: 2, down: 2,
    shown: null,   // indices drawn (null: all)
    pos: null,     // Float64Array [x0,y0,x1,y1,...] of world positions (box left/top)
    edges: null,   // [[from,to],...] drawn edges (focus mode)
    hover: -1, pending: false, pendingEvents: []
  };
  window.mfbDocsGraph = G;

  function fullPositions() {
    var pos = new Float64Array(nodes.length * 2);
    for (var k = 0; k < nodes.length; k++) {
      pos[2 * k] = nodes[k].x * COLW;
      pos[2 * k + 1] = nodes[k].y * ROWH;
    }
    return pos;
  }
  var FULL = null;

  function neighbourhood(center, up, down) {
    var dist = {};
    dist[center] = 0;
    var frontier = [center], d, next, k, q;
    for (d = 1; d <= up; d++) {
      next = [];
      for (k = 0; k < frontier.length; k++) {
        var ps = nodes[frontier[k]].up;
        for (q = 0; q < ps.length; q++) if (dist[ps[q]] === undefined) { dist[ps[q]] = -d; next.push(ps[q]); }
      }
      frontier = next;
    }
    frontier = [center];
    for (d = 1; d <= down; d++) {
      next = [];
      for (k = 0; k < frontier.length; k++) {
        var cs = nodes[frontier[k]].down;
        for (q = 0; q < cs.length; q++) if (dist[cs[q]] === undefined) { dist[cs[q]] = d; next.push(cs[q]); }
      }
      frontier = next;
    }
    return Object.keys(dist).map(Number);
  }

  // Focus layout: the precomputed layers, empty ones squeezed out, rows in layout order.
  function focusLayout(list) {
    var layers = {};
    list.forEach(function (v) {
      (layers[nodes[v].layer] = layers[nodes[v].layer] || []).push(v);
    });
    var keys = Object.keys(layers).map(Number).sort(function (a, b) { return a - b; });
    var pos = new Float64Array(nodes.length * 2);
    keys.forEach(function (l, c) {
      var col = layers[l].sort(function (a, b) {
        return nodes[a].x - nodes[b].x || nodes[a].y - nodes[b].y;
      });
      var half = (col.length - 1) / 2;
      col.forEach(function (v, r) {
        pos[2 * v] = c * COLW;
        pos[2 * v + 1] = (r - half) * ROWH;
      });
    });
    return pos;
  }

  function graphPage(id, params) {
    setNav("graph");
    var up = Math.max(0, parseInt(params.up || G.up, 10) || 0);
    var down = Math.max(0, parseInt(params.down || G.down, 10) || 0);
    G.up = up;
    G.down = down;
    var n = id ? byId[id] : null;
    main.innerHTML =
      '<div id="graph-view"><div class="toolbar">' +
      (n
        ? "Focus: <b>" + esc(label(n)) + '</b> <label>up <input id="hops-up" type="number" min="0" max="20" value="' + up + '"></label> <label>down <input id="hops-down" type="number" min="0" max="20" value="' + down + '"></label> <a class="button" href="#!/graph">Whole project</a> <a class="button" href="#!/node/' + encodeURIComponent(n.id) + '">Open page</a>'
        : "Whole project: " + nodes.length + " nodes. Edges show around the node under the pointer; open a node's page and choose “Lineage graph” to focus on it.") +
      ' <button id="fit">Fit</button> <span class="muted small">drag to pan · wheel to zoom · click a node to open it · shift-click to focus</span></div><canvas id="graph-canvas"></canvas></div>';
    G.canvas = document.getElementById("graph-canvas");
    G.ctx = G.canvas.getContext("2d");
    if (n) {
      G.focus = n.i;
      G.shown = neighbourhood(n.i, up, down);
      G.pos = focusLayout(G.shown);
      var inSet = (G.inSet = new Uint8Array(nodes.length));
      G.shown.forEach(function (v) { inSet[v] = 1; });
      G.edges = [];
      G.shown.forEach(function (v) {
        nodes[v].up.forEach(function (p) { if (inSet[p]) G.edges.push([p, v]); });
      });
      var change = function () {
        location.hash = "#!/graph/" + encodeURIComponent(n.id) + "?up=" + document.getElementById("hops-up").value + "&down=" + document.getElementById("hops-down").value;
      };
      document.getElementById("hops-up").addEventListener("change", change);
      document.getElementById("hops-down").addEventListener("change", change);
    } else {
      G.focus = null;
      G.shown = null;
      G.inSet = null;
      G.pos = FULL || (FULL = fullPositions());
      G.edges = null;
    }
    G.hover = -1;
    resize();
    fit();
    document.getElementById("fit").addEventListener("click", function (e) {
      fit();
      schedule(e, "fit");
    });
    bindCanvas();
    draw();
    sinceClick("focus");
  }

  function resize() {
    var r = G.canvas.getBoundingClientRect();
    G.dpr = window.devicePixelRatio || 1;
    G.w = r.width;
    G.h = r.height;
    G.canvas.width = Math.round(r.width * G.dpr);
    G.canvas.height = Math.round(r.height * G.dpr);
  }

  function bounds() {
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    eachShown(function (v) {
      var x = G.pos[2 * v], y = G.pos[2 * v + 1];
      if (x < minX) minX = x;
      if (y < minY) minY = y;
      if (x + BOXW > maxX) maxX = x + BOXW;
      if (y + BOXH > maxY) maxY = y + BOXH;
    });
    return [minX, minY, maxX, maxY];
  }
  function fit() {
    var b = bounds();
    if (!isFinite(b[0])) return;
    var pad = 30;
    var s = Math.min((G.w - 2 * pad) / (b[2] - b[0]), (G.h - 2 * pad) / (b[3] - b[1]), 1.5);
    G.scale = s;
    G.ox = (G.w - (b[2] - b[0]) * s) / 2 - b[0] * s;
    G.oy = (G.h - (b[3] - b[1]) * s) / 2 - b[1] * s;
  }
  function eachShown(f) {
    if (G.shown) for (var k = 0; k < G.shown.length; k++) f(G.shown[k]);
    else for (var v = 0; v < nodes.length; v++) f(v);
  }

  function schedule(e, kind) {
    if (e) G.pendingEvents.push({ t: e.timeStamp, kind: kind });
    if (G.pending) return;
    G.pending = true;
    requestAnimationFrame(function () {
      G.pending = false;
      draw();
      var evs = G.pendingEvents;
      G.pendingEvents = [];
      // after this frame's work: the time from the input event to a drawn frame
      setTimeout(function () {
        var now = performance.now();
        evs.forEach(function (ev) {
          perf.push({ kind: ev.kind, ms: now - ev.t });
        });
      }, 0);
    });
  }

  function draw() {
    var c = G.ctx, s = G.scale;
    if (!c) return;
    c.setTransform(G.dpr, 0, 0, G.dpr, 0, 0);
    c.clearRect(0, 0, G.w, G.h);
    c.setTransform(G.dpr * s, 0, 0, G.dpr * s, G.dpr * G.ox, G.dpr * G.oy);
    // the visible world rectangle
    var x0 = -G.ox / s, y0 = -G.oy / s, x1 = (G.w - G.ox) / s, y1 = (G.h - G.oy) / s;
    var visible = [];
    eachShown(function (v) {
      var x = G.pos[2 * v], y = G.pos[2 * v + 1];
      if (x + BOXW >= x0 && x <= x1 && y + BOXH >= y0 && y <= y1) visible.push(v);
    });
    G.visible = visible.length;
    // edges: the focus set's, the hovered node's, and all between visible nodes when few
    var edges = [];
    if (G.edges) edges = G.edges;
    else if (visible.length <= 400) {
      var vis = {};
      visible.forEach(function (v) { vis[v] = true; });
      visible.forEach(function (v) {
        nodes[v].up.forEach(function (p) { if (vis[p]) edges.push([p, v]); });
      });
    }
    var hl = [];
    if (G.hover >= 0) {
      nodes[G.hover].up.forEach(function (p) { hl.push([p, G.hover]); });
      nodes[G.hover].down.forEach(function (ch) { hl.push([G.hover, ch]); });
    }
    c.lineWidth = 1 / Math.max(s, 0.3);
    c.strokeStyle = "rgba(100,116,139,0.55)";
    strokeEdges(c, edges);
    c.strokeStyle = "#dd6b20";
    c.lineWidth = 2 / Math.max(s, 0.3);
    strokeEdges(c, hl.filter(function (e) { return !G.inSet || (G.inSet[e[0]] && G.inSet[e[1]]); }));
    // boxes, one path per colour
    var byColor = {};
    visible.forEach(function (v) {
      var col = nodes[v].color || TYPE_COLOR[nodes[v].type] || "#4a5568";
      (byColor[col] = byColor[col] || []).push(v);
    });
    Object.keys(byColor).forEach(function (col) {
      c.fillStyle = col;
      c.beginPath();
      byColor[col].forEach(function (v) {
        c.rect(G.pos[2 * v], G.pos[2 * v + 1], BOXW, BOXH);
      });
      c.fill();
    });
    // marks: focus, hover, failures, RLS
    c.lineWidth = 3 / Math.max(s, 0.3);
    visible.forEach(function (v) {
      var n = nodes[v], x = G.pos[2 * v], y = G.pos[2 * v + 1];
      if (n.status && n.status !== "success" && n.status !== "pass" || (n.tests && n.tests[1])) {
        c.strokeStyle = "#e53e3e";
        c.strokeRect(x, y, BOXW, BOXH);
      }
      if (v === G.focus || v === G.hover) {
        c.strokeStyle = "#f6ad55";
        c.strokeRect(x - 2, y - 2, BOXW + 4, BOXH + 4);
      }
      if (n.rls === "protected") {
        c.fillStyle = "#faf089";
        c.fillRect(x + BOXW - 10, y + 4, 6, BOXH - 8);
      } else if (flaggedNode[v]) {
        c.fillStyle = "#fc8181";
        c.fillRect(x + BOXW - 10, y + 4, 6, BOXH - 8);
      }
    });
    if (s * 12 >= 6 && visible.length <= 3000) {
      c.fillStyle = "#fff";
      c.font = "12px system-ui, sans-serif";
      c.textBaseline = "middle";
      visible.forEach(function (v) {
        var t = label(nodes[v]);
        if (t.length > 26) t = t.slice(0, 25) + "…";
        c.fillText(t, G.pos[2 * v] + 6, G.pos[2 * v + 1] + BOXH / 2);
      });
    }
  }
  function strokeEdges(c, edges) {
    if (!edges.length) return;
    c.beginPath();
    edges.forEach(function (e) {
      var ax = G.pos[2 * e[0]] + BOXW, ay = G.pos[2 * e[0] + 1] + BOXH / 2;
      var bx = G.pos[2 * e[1]], by = G.pos[2 * e[1] + 1] + BOXH / 2;
      var mx = (ax + bx) / 2;
      c.moveTo(ax, ay);
      c.bezierCurveTo(mx, ay, mx, by, bx, by);
    });
    c.stroke();
  }

  function hit(clientX, clientY) {
    var r = G.canvas.getBoundingClientRect();
    var wx = (clientX - r.left - G.ox) / G.scale, wy = (clientY - r.top - G.oy) / G.scale;
    var found = -1;
    eachShown(function (v) {
      var x = G.pos[2 * v], y = G.pos[2 * v + 1];
      if (wx >= x && wx <= x + BOXW && wy >= y && wy <= y + BOXH) found = v;
    });
    return found;
  }
  // Where a node is drawn, in client (viewport) coordinates; for tests and tooling.
  G.screenPos = function (id) {
    var n = byId[id];
    if (!n || !G.canvas) return null;
    var r = G.canvas.getBoundingClientRect();
    return { x: r.left + G.ox + (G.pos[2 * n.i] + BOXW / 2) * G.scale, y: r.top + G.oy + (G.pos[2 * n.i + 1] + BOXH / 2) * G.scale };
  };
  G.centerOn = function (id, scale) {
    var n = byId[id];
    G.scale = scale || 1;
    G.ox = G.w / 2 - (G.pos[2 * n.i] + BOXW / 2) * G.scale;
    G.oy = G.h / 2 - (G.pos[2 * n.i + 1] + BOXH / 2) * G.scale;
    draw();
  };

  function bindCanvas() {
    var cv = G.canvas, drag = null;
    cv.addEventListener("mousedown", function (e) {
      drag = { x: e.clientX, y: e.clientY, ox: G.ox, oy: G.oy, moved: false };
    });
    window.onmousemove = function (e) {
      if (drag) {
        var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
        G.ox = drag.ox + dx;
        G.oy = drag.oy + dy;
        schedule(e, "pan");
      } else if (e.target === cv) {
        var h = hit(e.clientX, e.clientY);
        if (h !== G.hover) {
          G.hover = h;
          cv.style.cursor = h >= 0 ? "pointer" : "grab";
          cv.title = h >= 0 ? label(nodes[h]) + " (" + nodes[h].type + ")" : "";
          schedule(e, "hover");
        }
      }
    };
    window.onmouseup = function (e) {
      if (!drag) return;
      var moved = drag.moved;
      drag = null;
      if (moved || e.target !== cv) return;
      var h = hit(e.clientX, e.clientY);
      if (h < 0) return;
      G.clickT = e.timeStamp;
      location.hash = e.shiftKey ? "#!/graph/" + encodeURIComponent(nodes[h].id) : "#!/node/" + encodeURIComponent(nodes[h].id);
    };
    cv.addEventListener(
      "wheel",
      function (e) {
        e.preventDefault();
        var r = cv.getBoundingClientRect();
        var mx = e.clientX - r.left, my = e.clientY - r.top;
        var f = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
        var ns = Math.min(4, Math.max(0.01, G.scale * f));
        G.ox = mx - (mx - G.ox) * (ns / G.scale);
        G.oy = my - (my - G.oy) * (ns / G.scale);
        G.scale = ns;
        schedule(e, "zoom");
      },
      { passive: false }
    );
  }
  window.addEventListener("resize", function () {
    if (G.canvas && document.body.contains(G.canvas)) {
      resize();
      draw();
    }
  });

  /* ---------- column-level lineage ---------- */

  function columnsPage(id) {
    setNav("graph");
    var n = byId[id];
    if (!n) {
      main.innerHTML = '<p class="error">No node ' + esc(id) + ".</p>";
      return;
    }
    main.innerHTML = "<h1>Column lineage of " + esc(label(n)) + '</h1><p class="muted">Loading…</p>';
    // Walk upstream through the lineage, loading the details it needs level by level.
    var depth = {};
    depth[n.id] = 0;
    var used = {};   // node id -> {column: true}
    var links = [];  // [fromNode, fromCol, toNode, toCol, kind]
    var frontier = [n];
    var info = {};
    function level(d) {
      allDetails(frontier, function (ds) {
        var next = [];
        frontier.forEach(function (f) {
          var det = ds[f.id] || {};
          info[f.id] = det;
          (det.columns || []).forEach(function (c) {
            if (f === n) (used[f.id] = used[f.id] || {})[c.name] = true;
            else if (!(used[f.id] && used[f.id][c.name])) return;
            (c.lineage || []).forEach(function (l) {
              (used[l.node] = used[l.node] || {})[l.column] = true;
              links.push([l.node, l.column, f.id, c.name, l.kind]);
              if (depth[l.node] === undefined && byId[l.node]) {
                depth[l.node] = d + 1;
                next.push(byId[l.node]);
              } else if (depth[l.node] === undefined) {
                depth[l.node] = d + 1;
              }
            });
          });
        });
        frontier = next;
        if (next.length && d < 12) level(d + 1);
        else renderColumns(n, depth, used, links);
      });
    }
    level(0);
  }

  function renderColumns(n, depth, used, links) {
    if (location.hash.indexOf("#!/columns/") !== 0) return;
    var maxD = 0;
    Object.keys(depth).forEach(function (k) { if (depth[k] > maxD) maxD = depth[k]; });
    var cols = [];
    Object.keys(depth).forEach(function (k) {
      (cols[maxD - depth[k]] = cols[maxD - depth[k]] || []).push(k);
    });
    var W = 230, GAP = 110, HEAD = 28, ROW = 22, VGAP = 24;
    var place = {};   // "node\u0000col" -> [x, y]
    var boxes = [];
    var height = 0;
    cols.forEach(function (ids, c) {
      var y = 10;
      ids.sort().forEach(function (id) {
        var names = Object.keys(used[id] || {});
        var x = 10 + c * (W + GAP);
        boxes.push({ id: id, x: x, y: y, names: names });
        names.forEach(function (name, r) {
          place[id + "\u0000" + name] = [x, y + HEAD + r * ROW + ROW / 2];
        });
        y += HEAD + names.length * ROW + VGAP;
      });
      if (y > height) height = y;
    });
    var width = 20 + cols.length * (W + GAP);
    var paths = links.map(function (l) {
      var a = place[l[0] + "\u0000" + l[1]], b = place[l[2] + "\u0000" + l[3]];
      if (!a || !b) return "";
      var ax = a[0] + W, bx = b[0], mx = (ax + bx) / 2;
      return '<path data-from="' + esc(l[0] + "." + l[1]) + '" data-to="' + esc(l[2] + "." + l[3]) + '" d="M' + ax + " " + a[1] + " C" + mx + " " + a[1] + " " + mx + " " + b[1] + " " + bx + " " + b[1] + '"><title>' + esc(l[4] || "") + "</title></path>";
    });
    var html = ['<h1>Column lineage of ' + esc(label(n)) + "</h1>"];
    html.push('<p class="muted">Each column of ' + esc(label(n)) + ' and the upstream columns it is computed from. Click a column to trace it. <a href="#!/node/' + encodeURIComponent(n.id) + '">Back to the page</a></p>');
    if (!links.length) html.push('<p class="muted">No column lineage is known for this node.</p>');
    html.push('<div id="column-view" style="width:' + width + "px;height:" + height + 'px">');
    html.push('<svg class="cl-edges" width="' + width + '" height="' + height + '">' + paths.join("") + "</svg>");
    boxes.forEach(function (b) {
      var node = byId[b.id];
      html.push('<div class="cl-node' + (b.id === n.id ? " focus" : "") + '" data-id="' + esc(b.id) + '" style="left:' + b.x + "px;top:" + b.y + "px;width:" + W + 'px"><div class="cl-head">' + (node ? link(b.id, label(node)) : esc(b.id)) + "</div>");
      b.names.forEach(function (name) {
        html.push('<div class="cl-col" data-col="' + esc(name) + '" data-key="' + esc(b.id + "." + name) + '">' + esc(name) + "</div>");
      });
      html.push("</div>");
    });
    html.push("</div>");
    main.innerHTML = html.join("");
    var view = document.getElementById("column-view");
    view.addEventListener("click", function (e) {
      var el = e.target.closest(".cl-col");
      if (!el) return;
      var key = el.dataset.key;
      // the column, everything it comes from and everything computed from it
      var on = {};
      on[key] = true;
      [[2, 0], [0, 2]].forEach(function (dir) {
        var seen = {};
        seen[key] = true;
        var grew = true;
        while (grew) {
          grew = false;
          links.forEach(function (l) {
            var from = l[dir[0]] + "." + l[dir[0] + 1], to = l[dir[1]] + "." + l[dir[1] + 1];
            if (seen[from] && !seen[to]) {
              seen[to] = on[to] = true;
              grew = true;
            }
          });
        }
      });
      var colsEls = view.querySelectorAll(".cl-col");
      for (var k = 0; k < colsEls.length; k++) colsEls[k].classList.toggle("lit", !!on[colsEls[k].dataset.key]);
      var ps = view.querySelectorAll("path");
      for (k = 0; k < ps.length; k++) ps[k].classList.toggle("lit", !!(on[ps[k].dataset.from] && on[ps[k].dataset.to]));
    });
  }

  /* ---------- routing ---------- */

  function route() {
    var h = location.hash || "#!/";
    var q = h.indexOf("?");
    var params = {};
    if (q >= 0) {
      h.slice(q + 1).split("&").forEach(function (kv) {
        var p = kv.split("=");
        params[p[0]] = decodeURIComponent(p[1] || "");
      });
      h = h.slice(0, q);
    }
    var parts = h.replace(/^#!?\/?/, "").split("/");
    var arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join("/")) : null;
    document.body.dataset.route = parts[0] || "overview";
    if (parts[0] !== "graph") {
      window.onmousemove = null;
      window.onmouseup = null;
      G.ctx = null;
    }
    if (parts[0] === "node" && arg) nodePage(arg);
    else if (parts[0] === "graph") graphPage(arg, params);
    else if (parts[0] === "columns" && arg) columnsPage(arg);
    else if (parts[0] === "security") securityPage();
    else overview();
  }
  window.addEventListener("hashchange", route);

  document.getElementById("project").textContent = D.project || "";
  renderTree();
  route();
  requestAnimationFrame(function () {
    setTimeout(function () {
      window.mfbDocsReady = performance.now();
      document.body.dataset.ready = "1";
    }, 0);
  });
})();
