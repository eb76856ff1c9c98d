/* town-prospects report: draws every view from the JSON embedded in the page.
   No network access of any kind: no fetch, no external script, font or image. */
(function () {
  "use strict";

  const D = JSON.parse(document.getElementById("report-data").textContent);
  const META = D.meta;
  const UNITS = D.units;
  const BY_ID = new Map(UNITS.map((u) => [u.id, u]));
  const LANGS = Object.keys(D.languages);
  const SVGNS = "http://www.w3.org/2000/svg";
  const NBSP = "\u00a0";
  const state = { lang: initialLang(), sort: { key: "change", dir: 1 }, filter: null, search: "", showAll: false };
  const PAGE_ROWS = 300; // longer tables show their first rows (sorted, filtered) until asked

  // ---- words and numbers ------------------------------------------------------------------
  function initialLang() {
    const q = new URLSearchParams(window.location.search).get("lang");
    if (q && D.languages[q]) return q;
    try {
      const saved = window.localStorage.getItem("town-prospects-lang");
      if (saved && D.languages[saved]) return saved;
    } catch (e) { /* storage may be disabled for file:// pages */ }
    return "en";
  }
  function T() { return D.i18n[state.lang]; }
  function fill(tpl, vars) {
    return String(tpl).replace(/\{(\w+)\}/g, (m, k) => (vars && vars[k] !== undefined ? vars[k] : m));
  }
  // numbers: formatted in one place (numbers.js), with the page's language's separators
  const FMT = {};
  LANGS.forEach((l) => { FMT[l] = ReportNumbers.formatter(D.i18n[l]); });
  function F() { return FMT[state.lang]; }
  const isNum = ReportNumbers.isNum;
  function num(x, dec, sign) { return F().num(x, dec, sign); }
  function pct(x, dec, sign) { return F().pct(x, dec, sign); }
  function share(p) { return F().share(p); }
  function prob(p) { return F().prob(p); }
  function pts(x, sign) { return F().pts(x, 1, sign); }
  function thr(x) { return F().thr(x); }
  function km(x) { return F().km(x); }
  // a sentence (or list of them) written by the Python side, its numbers formatted here
  function say(x) { return Array.isArray(x) ? x.map(say) : typeof x === "string" ? F().render(x) : x; }
  function plural(n, forms) {
    n = Math.abs(n);
    let key;
    if (state.lang === "ru") {
      if (n % 10 === 1 && n % 100 !== 11) key = "one";
      else if (n % 10 >= 2 && n % 10 <= 4 && !(n % 100 >= 12 && n % 100 <= 14)) key = "few";
      else key = "many";
    } else key = n === 1 ? "one" : "many";
    return forms[key] || forms.many;
  }
  function nouns() { return T().nouns[META.noun] || T().nouns.unit; }
  function nounPl() { const n = nouns(); return n.few || n.many; }
  function catName(c) { return (T().categories || {})[c] || c || "–"; }
  function uname(u) { return u.name[state.lang] || u.name.en; }
  function uregion(u) { return u.region[state.lang] || u.region.en; }
  function methodName(m) { return T().methods[m] || m; }
  function kindName(k) { return T().kinds[k || ""] || k; }
  function cap(x) { return x ? x.charAt(0).toUpperCase() + x.slice(1) : x; }
  function driverName(k) { const l = (D.driver_labels || {})[k]; return l ? l[state.lang] || l.en : k; }

  // ---- DOM helpers ------------------------------------------------------------------------
  function h(tag, attrs) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function s(tag, attrs) {
    const el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === "on") { for (const ev of Object.keys(v)) el.addEventListener(ev, v[ev]); }
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  function append(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach((x) => append(el, x)); return; }
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  function title(text) { return s("title", null, text); }
  function unitHref(id) { return "#unit/" + encodeURIComponent(id); }

  // category shapes, so that colour is never the only cue
  function marker(cat, x, y, r, extra) {
    const a = Object.assign({ class: "mk mk-" + cat, fill: "var(--c-" + cat + ")" }, extra || {});
    if (cat === "diversify") a.d = `M${x},${y - r * 1.15}L${x + r},${y + r * 0.75}L${x - r},${y + r * 0.75}Z`;
    else if (cat === "resettle") a.d = `M${x},${y + r * 1.15}L${x + r},${y - r * 0.75}L${x - r},${y - r * 0.75}Z`;
    else if (cat === "agglomerate") a.d = `M${x},${y - r * 1.2}L${x + r * 1.2},${y}L${x},${y + r * 1.2}L${x - r * 1.2},${y}Z`;
    else { a.cx = x; a.cy = y; a.r = r; return s("circle", a); }
    return s("path", a);
  }
  function icon(cat) {
    return s("svg", { width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true" }, marker(cat, 7, 7.5, 5));
  }
  // the decision only: its number would read as "how sure we are" (see outcomeShort)
  function chip(u) {
    return h("span", { class: "chip cat-" + u.cat }, icon(u.cat), catName(u.cat));
  }
  // the most likely outcome and its probability, e.g. "fall of more than 10%: 80%"
  function outcomeShort(u) {
    const hl = u.headline || {};
    if (!hl.outcome) return "–";
    const th = META.thresholds;
    const txt = fill(T().outcome_short[hl.outcome], {
      decline: thr(th.decline), growth: thr(th.growth), decline_abs: thr(Math.abs(th.decline)).replace(/^\+/, ""),
    });
    return txt + ": " + prob(hl.p);
  }
  function boundaryFlag(big) { return h("span", { class: big ? "flag big" : "flag" }, "⚠ " + T().boundary_yes); }

  function niceStep(span, n) {
    const raw = span / Math.max(1, n);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  }
  function ticks(lo, hi, n) {
    const step = niceStep(hi - lo || 1, n);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
    return out;
  }
  function wrapText(text, width) {
    const words = String(text).split(" ");
    const lines = [""];
    for (const w of words) {
      const cur = lines[lines.length - 1];
      if (cur && (cur + " " + w).length > width) lines.push(w);
      else lines[lines.length - 1] = cur ? cur + " " + w : w;
    }
    return lines;
  }

  // ---- page chrome ------------------------------------------------------------------------
  function route() {
    const hsh = decodeURIComponent(window.location.hash.replace(/^#/, ""));
    if (hsh.startsWith("unit/")) {
      const id = hsh.slice(5);
      if (BY_ID.has(id)) return { view: "unit", id: id };
    }
    if (hsh === "method") return { view: "method" };
    if (hsh === "print") return { view: "print" };
    return { view: "overview" };
  }

  function renderChrome(r) {
    const t = T();
    document.documentElement.lang = state.lang;
    const dtitle = META.dataset_title[state.lang] || META.dataset;
    document.title = t.app_title + " — " + dtitle;
    const header = document.getElementById("top");
    header.textContent = "";
    const sel = h("select", {
      id: "jump", "aria-label": t.jump,
      on: { change: (e) => { if (e.target.value) window.location.hash = unitHref(e.target.value); } },
    }, h("option", { value: "" }, t.jump + " …"));
    UNITS.slice().sort((a, b) => uname(a).localeCompare(uname(b), state.lang)).forEach((u) => {
      sel.appendChild(h("option", { value: u.id, selected: r.view === "unit" && r.id === u.id }, uname(u)));
    });
    header.append(
      h("div", { class: "brand" },
        h("h1", { id: "title" }, t.app_title + ": " + dtitle),
        h("p", { id: "subtitle" }, fill(t.subtitle, { dataset: META.dataset, as_of: META.as_of || "–", target_year: META.target_year || "–" }))),
      h("nav", { class: "tabs", id: "nav" },
        h("a", { href: "#overview", class: r.view === "overview" ? "active" : null, id: "nav-overview" }, t.nav_overview),
        h("a", { href: "#method", class: r.view === "method" ? "active" : null, id: "nav-method" }, t.nav_method),
        sel),
      h("button", { type: "button", class: "btn print", id: "print", on: { click: () => window.print() } }, t.print),
      h("div", { class: "langs", role: "group", "aria-label": t.language },
        LANGS.map((l) => h("button", {
          type: "button", "data-lang": l, "aria-pressed": l === state.lang ? "true" : "false",
          on: { click: () => setLang(l) },
        }, D.languages[l]))));
    const foot = document.getElementById("foot");
    foot.textContent = `town-prospects ${META.version} · ${META.dataset} · ${t.run_as_of}: ${META.as_of || "–"} · ${META.folder}`;
  }

  function setLang(l) {
    state.lang = l;
    try { window.localStorage.setItem("town-prospects-lang", l); } catch (e) { /* ignore */ }
    render(false);
  }

  function render(scroll) {
    const r = route();
    renderChrome(r);
    const main = document.getElementById("main");
    main.textContent = "";
    if (r.view === "unit") main.appendChild(unitView(BY_ID.get(r.id)));
    else if (r.view === "method") main.appendChild(methodView());
    else if (r.view === "print") printView(main);
    else main.appendChild(overview());
    if (scroll) window.scrollTo(0, 0);
  }

  // ---- print: the overview, then every unit's page, each from a new A4 sheet -----------------
  function printView(main) {
    const keep = state.showAll;
    state.showAll = true;
    main.appendChild(h("div", { class: "printpage", id: "print-overview" }, overview()));
    state.showAll = keep;
    UNITS.slice().sort((a, b) => uname(a).localeCompare(uname(b), state.lang)).forEach((u) => {
      main.appendChild(h("div", { class: "printpage printunit" }, unitView(u)));
    });
  }
  let printed = null; // the view to come back to after a print started from another view
  window.addEventListener("beforeprint", () => {
    if (route().view === "print") return;
    printed = window.location.hash;
    const main = document.getElementById("main");
    main.textContent = "";
    printView(main);
  });
  window.addEventListener("afterprint", () => {
    if (printed === null) return;
    printed = null;
    render(false);
  });

  // ---- overview ---------------------------------------------------------------------------
  function counts() {
    const c = {};
    D.category_order.forEach((k) => { c[k] = { n: 0, boundary: 0 }; });
    UNITS.forEach((u) => {
      if (!c[u.cat]) c[u.cat] = { n: 0, boundary: 0 };
      c[u.cat].n += 1;
      if (u.boundary) c[u.cat].boundary += 1;
    });
    return c;
  }

  function overview() {
    const t = T();
    const frag = document.createDocumentFragment();
    const map = mapPanel();
    if (map) frag.appendChild(h("div", { class: "grid2" }, glance(), map));
    else {
      const g = glance();
      g.style.marginBottom = "1.1rem";
      g.appendChild(h("p", { class: "note", id: "map-none" }, T().map_none));
      frag.appendChild(g);
    }
    const c = counts();
    const th = META.thresholds;
    const cats = h("div", { class: "cats", id: "catcards" });
    Object.keys(c).forEach((k) => {
      if (k === "agglomerate" && !th.agglo && c[k].n === 0) return;
      cats.appendChild(h("button", {
        type: "button", class: "catcard cat-" + k, "data-cat": k,
        "aria-pressed": state.filter === k ? "true" : "false",
        on: { click: () => { state.filter = state.filter === k ? null : k; render(false); } },
      },
      h("div", { class: "cname" }, icon(k), catName(k)),
      h("div", { class: "count" }, String(c[k].n),
        c[k].boundary ? h("small", null, fill(t.boundary_cases, { n: c[k].boundary })) : null),
      h("p", { class: "desc" }, fill((t.category_desc || {})[k] || "", {
        growth: thr(th.growth), decline: thr(th.decline), limit: km(th.limit),
      }))));
    });
    frag.appendChild(h("section", { class: "panel", style: "padding:0;border:0;background:none" }, cats));
    append(frag, robustPanel());
    frag.appendChild(tablePanel());
    return frag;
  }

  function glance() {
    const t = T();
    const n = UNITS.length;
    const nb = UNITS.filter((u) => u.boundary).length;
    const sec = h("section", { class: "panel glance", id: "glance" }, h("h2", null, t.glance_title));
    sec.appendChild(h("p", { class: "lead" }, fill(t.glance_counts, {
      n: num(n), noun: plural(n, nouns()), year: META.target_year, h: META.horizon,
    })));
    if (META.focus) sec.appendChild(h("p", null, fill(t.glance_focus, { focus: META.focus[state.lang], noun: nouns().many })));
    if (nb) sec.appendChild(h("p", { class: "warn" }, fill(t.glance_boundary, { n: num(nb), decline: thr(META.thresholds.decline) })));
    if (isNum(META.median_lower) && isNum(META.median_upper)) {
      sec.appendChild(h("p", null, fill(t.glance_uncertainty, {
        level: share(META.level), year: META.target_year, lo: pct(META.median_lower, 0), hi: pct(META.median_upper, 0),
      })));
    }
    const acc = accuracyFor(META.target, META.horizon);
    if (acc && acc.combined && acc.naive) {
      sec.appendChild(h("p", null, fill(t.glance_accuracy, {
        h: acc.h, mape: pct(acc.combined.mape, 1, false), naive: pct(acc.naive.mape, 1, false),
      })));
    }
    sec.appendChild(h("p", { class: "note" }, t.glance_help));
    return sec;
  }

  function accuracyFor(target, horizon) {
    if (!D.accuracy) return null;
    const rows = D.accuracy.filter((r) => (r.target || META.target) === target);
    if (!rows.length) return null;
    const hs = Array.from(new Set(rows.map((r) => r.horizon))).sort((a, b) => a - b);
    // the policy horizon if it has enough tests, else the largest horizon that has
    const ok = hs.filter((x) => {
      const c = rows.find((r) => r.horizon === x && r.method === "combined");
      return c && c.n >= 20;
    });
    const hh = ok.includes(horizon) ? horizon : ok.length ? ok[ok.length - 1] : hs.includes(horizon) ? horizon : hs[hs.length - 1];
    const pick = (m) => rows.find((r) => r.horizon === hh && r.method === m);
    return { h: hh, combined: pick("combined"), naive: pick("naive") };
  }

  // --- table
  function columns() {
    const t = T();
    const cols = [
      { key: "name", label: fill(t.th_name || "{title}", { title: nouns().title }), type: "text",
        value: (u) => uname(u),
        cell: (u) => h("td", null, h("a", { href: unitHref(u.id), class: "uname" }, uname(u))) },
      { key: "region", label: t.th_region, type: "text", value: (u) => uregion(u),
        cell: (u) => h("td", null, uregion(u)) },
      { key: "latest", label: t.th_latest, type: "num", value: (u) => u.latest,
        cell: (u) => h("td", { class: "num", "data-value": u.latest }, num(u.latest), h("span", { class: "sub" }, u.latest_year || "")) },
    ];
    META.table_horizons.forEach((hz) => {
      const any = UNITS.find((u) => u.fc[hz]);
      const year = any ? any.fc[hz].year : META.as_of + hz;
      cols.push({
        key: "fc" + hz, label: fill(t.th_fc, { year: year, h: hz }), type: "num",
        value: (u) => (u.fc[hz] ? u.fc[hz].value : null),
        cell: (u) => {
          const f = u.fc[hz];
          if (!f) return h("td", { class: "num" }, "–");
          return h("td", { class: "num", "data-value": f.value }, num(f.value),
            h("span", { class: "sub" }, isNum(f.lower) ? fill(t.range_short, { lo: num(f.lower), hi: num(f.upper) }) : ""));
        },
      });
    });
    cols.push({
      key: "change", label: fill(t.th_change, { year: META.target_year }), type: "num", value: (u) => u.change,
      cell: (u) => h("td", {
        class: "num" + (isNum(u.change) && isNum(META.thresholds.decline) && u.change < META.thresholds.decline ? " neg" : ""),
        "data-value": u.change,
      }, pct(u.change), h("span", { class: "sub" }, isNum(u.lower) ? pct(u.lower) + " … " + pct(u.upper) : "")),
    });
    if (META.has_emp) {
      cols.push({ key: "emp", label: fill(t.th_jobs, { year: META.target_year }), type: "num", value: (u) => u.emp_change,
        cell: (u) => h("td", { class: "num", "data-value": u.emp_change }, pct(u.emp_change),
          // the jobs forecast of a larger territory standing in for the town: say whose
          u.jobs && u.jobs.from && isNum(u.emp_change) ? h("span", { class: "sub standin", title: fill(t.jobs_stand_in, {
            name: u.jobs.from.name[state.lang] || u.jobs.from.name.en, territory: territoryName(u.jobs.from.territory),
          }) }, "⚠ " + ((T().territories_short || {})[u.jobs.from.territory] || u.jobs.from.territory || "")) : null) });
    }
    cols.push(
      { key: "category", label: t.th_decision, type: "text",
        value: (u) => D.category_order.indexOf(u.cat) * 10 + (u.boundary ? 5 : 0),
        cell: (u) => h("td", { class: "catcell" }, chip(u), u.boundary ? h("div", null, boundaryFlag(false)) : null) },
      { key: "outcome", label: t.th_outcome, type: "num",
        value: (u) => (u.headline && isNum(u.headline.p) ? ["decline", "mid", "growth"].indexOf(u.headline.outcome) + u.headline.p : null),
        cell: (u) => h("td", { class: "small outcome" }, outcomeShort(u)) },
      { key: "driver", label: t.th_driver, tip: t.th_driver_tip, type: "text", value: (u) => (u.top ? driverName(u.top.driver) : ""),
        cell: (u) => h("td", { class: "small driver" }, u.top ? [driverName(u.top.driver), " ", h("span", { class: "muted nowrap" }, "(" + pts(u.top.pct) + ")")] : "–") });
    return cols;
  }

  function sortedUnits(cols) {
    const col = cols.find((c) => c.key === state.sort.key) || cols[0];
    const dir = state.sort.dir;
    const q = state.search.trim().toLowerCase();
    return UNITS.filter((u) => (!state.filter || u.cat === state.filter) &&
      (!q || (uname(u) + " " + u.name.en + " " + uregion(u)).toLowerCase().includes(q)))
      .sort((a, b) => {
        const va = col.value(a), vb = col.value(b);
        const na = va === null || va === undefined || va === "", nb = vb === null || vb === undefined || vb === "";
        if (na || nb) return na === nb ? 0 : na ? 1 : -1; // missing values last
        if (typeof va === "number" && typeof vb === "number") return dir * (va - vb);
        return dir * String(va).localeCompare(String(vb), state.lang);
      });
  }

  function tablePanel() {
    const t = T();
    const cols = columns();
    const sec = h("section", { class: "panel", id: "units" });
    sec.appendChild(h("h2", null, fill(t.table_title, { noun: nounPl() })));
    const shown = h("span", { class: "muted small", id: "shown" });
    const input = h("input", { type: "search", id: "search", placeholder: t.search, value: state.search, "aria-label": t.search });
    sec.appendChild(h("div", { class: "toolbar" }, input, shown,
      state.filter ? h("button", { type: "button", class: "btn", on: { click: () => { state.filter = null; render(false); } } },
        t.filter_all + " (" + catName(state.filter) + " ×)") : null));
    const table = h("table", { id: "units-table" });
    const tr = h("tr");
    cols.forEach((c) => {
      tr.appendChild(h("th", {
        class: "sortable" + (c.type === "num" ? " num" : ""), "data-key": c.key, title: c.tip ? c.tip + " " + t.sort_hint : t.sort_hint, scope: "col",
        "aria-sort": state.sort.key === c.key ? (state.sort.dir > 0 ? "ascending" : "descending") : "none",
        tabindex: 0,
        on: {
          click: () => sortBy(c.key),
          keydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(c.key); } },
        },
      
      }, c.label));
    });
    table.appendChild(h("thead", null, tr));
    const tbody = h("tbody");
    table.appendChild(tbody);
    sec.appendChild(h("div", { class: "tablewrap" }, table));
    const more = h("button", { type: "button", class: "btn", id: "show-all",
      on: { click: () => { state.showAll = true; fillBody(); } } });
    sec.appendChild(h("p", null, more));
    const rowCache = new Map(); // rows are built once per rendering, then only reordered
    function fillBody() {
      tbody.textContent = "";
      const all = sortedUnits(cols);
      const rows = state.showAll ? all : all.slice(0, PAGE_ROWS);
      const frag = document.createDocumentFragment();
      rows.forEach((u) => {
        let row = rowCache.get(u.id);
        if (!row) {
          row = h("tr", { "data-id": u.id, class: "cat-" + u.cat });
          cols.forEach((c) => { const td = c.cell(u); td.dataset.key = c.key; row.appendChild(td); });
          rowCache.set(u.id, row);
        }
        frag.appendChild(row);
      });
      tbody.appendChild(frag);
      shown.textContent = fill(t.shown, { n: num(rows.length), total: num(UNITS.length) });
      more.style.display = rows.length < all.length ? "" : "none";
      more.textContent = fill(t.show_all, { n: num(all.length) });
    }
    function sortBy(key) {
      if (state.sort.key === key) state.sort.dir = -state.sort.dir;
      else state.sort = { key: key, dir: 1 };
      tr.querySelectorAll("th").forEach((th) => th.setAttribute("aria-sort",
        th.dataset.key === state.sort.key ? (state.sort.dir > 0 ? "ascending" : "descending") : "none"));
      fillBody();
    }
    input.addEventListener("input", () => { state.search = input.value; fillBody(); });
    fillBody();
    return sec;
  }

  // --- map
  function mapPanel() {
    const t = T();
    const sec = h("section", { class: "panel", id: "map" }, h("h2", null, t.map_title));
    const pts_ = UNITS.filter((u) => isNum(u.lat) && isNum(u.lon));
    const missing = UNITS.filter((u) => !(isNum(u.lat) && isNum(u.lon)));
    if (!pts_.length) return null; // the overview says so in a note instead
    const MAP = D.map; // region borders and growth points, when the units lie in that country
    const sc = MAP ? MAP.scale : 1;
    const ringPts = MAP ? MAP.regions.flatMap((r) => r.rings) : [];
    const lats = MAP ? ringPts.flatMap((r) => r.filter((v, i) => i % 2).map((v) => v / sc)) : pts_.map((u) => u.lat);
    const lons = MAP ? ringPts.flatMap((r) => r.filter((v, i) => !(i % 2)).map((v) => v / sc)) : pts_.map((u) => u.lon);
    let la0 = Math.min.apply(null, lats), la1 = Math.max.apply(null, lats);
    let lo0 = Math.min.apply(null, lons), lo1 = Math.max.apply(null, lons);
    const padLa = MAP ? 0.3 : Math.max(0.6, (la1 - la0) * 0.08), padLo = MAP ? 0.3 : Math.max(0.8, (lo1 - lo0) * 0.06);
    la0 -= padLa; la1 += padLa; lo0 -= padLo; lo1 += padLo;
    const kx = Math.cos(((la0 + la1) / 2) * Math.PI / 180);
    const W = 640;
    const sx = W / ((lo1 - lo0) * kx);
    let H = (la1 - la0) * sx;
    let scale = sx;
    if (H > 460) { scale = 460 / (la1 - la0); H = 460; }
    const X = (lon) => (lon - lo0) * kx * scale;
    const Y = (lat) => (la1 - lat) * scale;
    const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t.map_title });
    if (MAP) {
      const gr = s("g", { class: "regions" });
      MAP.regions.forEach((reg) => {
        const d = reg.rings.map((r) => {
          let out = "";
          for (let i = 0; i < r.length; i += 2) out += (i ? "L" : "M") + X(r[i] / sc).toFixed(1) + "," + Y(r[i + 1] / sc).toFixed(1);
          return out + "Z";
        }).join("");
        gr.appendChild(s("path", { d: d, class: "region", "data-region": reg.region }, title(reg.name[state.lang] || reg.region)));
      });
      svg.appendChild(gr);
    }
    // graticule (only without a map: the borders place the towns)
    const step = niceStep(Math.max(la1 - la0, lo1 - lo0), 6);
    const g = s("g", { class: "axis" });
    if (MAP) g.style.display = "none";
    for (let v = Math.ceil(lo0 / step) * step; v <= lo1; v += step) {
      g.appendChild(s("line", { x1: X(v), x2: X(v), y1: 0, y2: H, "stroke-dasharray": "2 4" }));
      g.appendChild(s("text", { x: X(v) + 3, y: H - 4 }, `${num(v, step % 1 ? 1 : 0)}°${v >= 0 ? "E" : "W"}`));
    }
    for (let v = Math.ceil(la0 / step) * step; v <= la1; v += step) {
      g.appendChild(s("line", { x1: 0, x2: W, y1: Y(v), y2: Y(v), "stroke-dasharray": "2 4" }));
      g.appendChild(s("text", { x: 3, y: Y(v) - 3 }, `${num(v, step % 1 ? 1 : 0)}°${v >= 0 ? "N" : "S"}`));
    }
    svg.appendChild(g);
    const placed = [];
    const labels = s("g");
    const dots = s("g");
    const order = pts_.slice().sort((a, b) => (b.latest || 0) - (a.latest || 0));
    order.forEach((u) => {
      const x = X(u.lon), y = Y(u.lat);
      const r = 6;
      const a = s("a", { href: unitHref(u.id), class: "mapdot", "data-id": u.id });
      a.appendChild(title(`${uname(u)} (${uregion(u)}): ${catName(u.cat)}; ${outcomeShort(u)}; ${pct(u.change)} → ${META.target_year}${u.boundary ? "; " + T().boundary_yes : ""}`));
      if (u.boundary) a.appendChild(s("circle", { cx: x, cy: y, r: r + 4, fill: "none", stroke: "var(--c-stabilize)", "stroke-width": 2, "stroke-dasharray": "3 2" }));
      a.appendChild(marker(u.cat, x, y, r, { stroke: "#fff", "stroke-width": 1.2 }));
      dots.appendChild(a);
    });
    // growth points first: each label takes the first free place around its square
    const cityLabels = [];
    if (MAP) {
      MAP.cities.forEach((c) => {
        const x = X(c.lon), y = Y(c.lat), lab = c.label[state.lang] || c.name;
        const w = lab.length * 6.8 + 2;
        const cands = [[x, y - 8, "middle"], [x, y + 17, "middle"], [x + 8, y + 4, "start"], [x - 8, y + 4, "end"],
          [x - 8, y - 8, "end"], [x + 8, y - 8, "start"], [x - 8, y + 16, "end"], [x + 8, y + 16, "start"],
          [x - 6, y - 20, "end"], [x, y - 22, "middle"]];
        // the first place clear of labels and towns; failing that, the one with fewest overlaps
        let pick = cands[0], best = Infinity;
        for (const cd of cands) {
          const bx = cd[2] === "end" ? cd[0] - w : cd[2] === "middle" ? cd[0] - w / 2 : cd[0];
          const box = [bx, cd[1] - 11, bx + w, cd[1] + 2];
          if (box[0] < 0 || box[2] > W || box[1] < 0 || box[3] > H) continue;
          const hits = placed.filter((p) => !(box[2] < p[0] || box[0] > p[2] || box[3] < p[1] || box[1] > p[3])).length +
            pts_.filter((v) => X(v.lon) > box[0] - 5 && X(v.lon) < box[2] + 5 && Y(v.lat) > box[1] - 5 && Y(v.lat) < box[3] + 5).length;
          if (hits < best) { best = hits; pick = cd; }
          if (!hits) break;
        }
        const bx = pick[2] === "end" ? pick[0] - w : pick[2] === "middle" ? pick[0] - w / 2 : pick[0];
        placed.push([bx, pick[1] - 11, bx + w, pick[1] + 2]);
        cityLabels.push([x, y, lab, pick, c.name]);
      });
    }
    if (pts_.length <= 80) {
      order.forEach((u) => {
        const x = X(u.lon), y = Y(u.lat);
        const text = uname(u);
        const w = text.length * 6.3 + 2, hgt = 12;
        const cands = [[x + 9, y + 4, "start"], [x - 9, y + 4, "end"], [x - w / 2, y - 10, "start"], [x - w / 2, y + 18, "start"]];
        for (const c of cands) {
          const bx = c[2] === "end" ? c[0] - w : c[0];
          const box = [bx, c[1] - hgt + 2, bx + w, c[1] + 2];
          if (box[0] < 0 || box[2] > W || box[1] < 0 || box[3] > H) continue;
          const hit = placed.some((p) => !(box[2] < p[0] || box[0] > p[2] || box[3] < p[1] || box[1] > p[3]));
          const hitDot = order.some((v) => v !== u && X(v.lon) > box[0] - 4 && X(v.lon) < box[2] + 4 && Y(v.lat) > box[1] - 4 && Y(v.lat) < box[3] + 4);
          if (!hit && !hitDot) {
            placed.push(box);
            labels.appendChild(s("text", { x: c[0], y: c[1], "text-anchor": c[2], "font-size": 11, fill: "var(--muted)", class: "maplabel" }, text));
            break;
          }
        }
      });
    }
    if (MAP) {
      const gc = s("g", { class: "cities" });
      cityLabels.forEach(([x, y, lab, pick, name]) => {
        gc.appendChild(s("rect", { x: x - 4, y: y - 4, width: 8, height: 8, class: "city", "data-city": name }, title(lab + " — " + T().map_city)));
        gc.appendChild(s("text", { x: pick[0], y: pick[1], "text-anchor": pick[2], class: "citylabel" }, lab));
      });
      svg.appendChild(gc);
    }
    svg.appendChild(labels);
    svg.appendChild(dots);
    sec.appendChild(svg);
    const legend = h("div", { class: "legend" });
    Object.keys(counts()).forEach((k) => legend.appendChild(h("span", null, icon(k), catName(k))));
    legend.appendChild(h("span", null, s("svg", { width: 18, height: 18, viewBox: "0 0 18 18" },
      s("circle", { cx: 9, cy: 9, r: 7, fill: "none", stroke: "var(--c-stabilize)", "stroke-width": 2, "stroke-dasharray": "3 2" })), T().boundary_yes));
    if (MAP) legend.appendChild(h("span", null, s("svg", { width: 14, height: 14, viewBox: "0 0 14 14" },
      s("rect", { x: 3, y: 3, width: 8, height: 8, class: "city" })), T().map_city));
    sec.appendChild(legend);
    sec.appendChild(h("p", { class: "note" }, t.map_note));
    if (missing.length) {
      const names = missing.map(uname);
      const list = names.length > 40 ? names.slice(0, 40).join(", ") + " …" : names.join(", ");
      sec.appendChild(h("p", { class: "map-missing", id: "map-missing" }, fill(t.map_missing, { list: list })));
    }
    return sec;
  }

  // ---- scenarios (forecast/report/scenarios.py) ---------------------------------------------
  const SCEN = D.scenarios || null;
  const SCEN_COLORS = ["#b45309", "#7c3aed", "#0f766e", "#be123c", "#1d4ed8", "#65a30d", "#a21caf", "#0e7490", "#c2410c", "#4d7c0f"];
  function scenLabel(key) {
    const l = (SCEN && SCEN.labels) || {};
    return (l[state.lang] || l.en || {})[key] || key;
  }
  function scenColor(name) {
    const i = SCEN ? SCEN.names.findIndex((x) => x.name === name) : -1;
    return SCEN_COLORS[(i < 0 ? 0 : i) % SCEN_COLORS.length];
  }
  // [[name, [[year, forecast, lower, upper], ...]], ...] for a unit and target
  function scenLines(uid, target) {
    const byT = SCEN && SCEN.lines[uid] ? SCEN.lines[uid][target] || {} : {};
    return Object.keys(byT).map((n) => [n, byT[n]]);
  }
  // a scenario's description in the page's language: the file may give {en, ru, kk}; a plain
  // text is the author's own words in one language and is shown on the English page only
  function scenDesc(x) {
    const d = x ? x.description : "";
    if (d && typeof d === "object") return d[state.lang] || "";
    return state.lang === "en" ? d || "" : "";
  }
  // "scenario (category)" for the scenarios that change a town's category, in the page's language
  function scenChanges(rb) {
    if (!rb.changes) return rb.changed_by.join(", "); // report data of older runs
    return rb.changes.map((x) => x.scenario + " (" + catName(x.category) + ")").join(", ");
  }
  function scenarioPanel(u) {
    // the baseline, and the scenarios that change this town's numbers or its category
    const mine = new Set();
    Object.values((SCEN && SCEN.lines[u.id]) || {}).forEach((byS) => Object.keys(byS).forEach((n) => mine.add(n)));
    const rows = (SCEN ? SCEN.categories[u.id] || [] : []).filter((r) => r.scenario === "baseline" || r.changed || mine.has(r.scenario));
    if (!rows.length) return null;
    const sec = h("section", { class: "panel", id: "scenarios" }, h("h3", null, scenLabel("table")));
    const tb = h("tbody");
    rows.forEach((r) => {
      const desc = r.scenario === "baseline" ? scenLabel("baseline")
        : scenDesc(SCEN.names.find((x) => x.name === r.scenario));
      tb.appendChild(h("tr", { class: r.changed ? "scen-changed" : null, "data-scenario": r.scenario },
        h("td", { style: "overflow-wrap:anywhere" }, r.scenario === "baseline" ? null : h("span", { style: `color:${scenColor(r.scenario)}` }, "■ "),
          r.scenario, desc ? h("div", { class: "note" }, desc) : null),
        // the category, and under it the change to the policy horizon (one column less: the
        // table fits the page's narrow column in every language)
        h("td", null, catName(r.category), r.changed ? h("b", null, " *") : null,
          h("div", { class: "note" }, pct(r.change_pct))),
        // the outcome probabilities under the scenario, as on the category card
        h("td", { class: "num" }, prob(r.p_decline)),
        h("td", { class: "num" }, prob(r.p_stabilize)),
        h("td", { class: "num" }, prob(r.p_growth))));
    });
    const t = T();
    const th = META.thresholds;
    const outcomes = [fill(t.prob_decline, { decline: thr(th.decline) }), t.prob_mid,
      fill(t.prob_growth, { growth: thr(th.growth) })];
    sec.appendChild(h("div", { class: "tablewrap" }, h("table", { class: "tbl", style: "font-size:0.85em;table-layout:fixed;width:100%" },
      h("colgroup", null, h("col", { style: "width:34%" }), h("col", { style: "width:24%" }),
        [0, 1, 2].map(() => h("col", { style: "width:14%" }))),
      h("thead", null,
        h("tr", null, h("th", { rowspan: "2" }, scenLabel("scenario")),
          h("th", { rowspan: "2" }, scenLabel("category"), h("div", { class: "note" }, scenLabel("change"))),
          h("th", { colspan: "3" }, fill(t.probs_title, { year: u.target_year || META.target_year }))),
        h("tr", null, outcomes.map((x) => h("th", { class: "num" }, x)))), tb)));
    const rb = SCEN.robust[u.id];
    if (rb) {
      sec.appendChild(h("p", { class: rb.robust ? "note" : "warn" },
        rb.robust ? scenLabel("robust") : scenLabel("not_robust") + ": " + scenChanges(rb)));
    }
    return sec;
  }
  function robustPanel() {
    if (!SCEN) return null;
    const ids = UNITS.filter((u) => SCEN.robust[u.id]);
    if (!ids.length) return null;
    const sec = h("section", { class: "panel", id: "scenario-robustness" }, h("h2", null, scenLabel("title")));
    const robust = ids.filter((u) => SCEN.robust[u.id].robust).map(uname).sort();
    const moved = ids.filter((u) => !SCEN.robust[u.id].robust);
    sec.appendChild(h("p", null, h("b", null, scenLabel("robust") + " (" + robust.length + "/" + ids.length + "): "), robust.join(", ")));
    if (moved.length) {
      sec.appendChild(h("ul", { class: "reasons" }, moved.map((u) => h("li", null,
        h("a", { href: unitHref(u.id) }, uname(u)), " — " + scenLabel("not_robust") + ": " + scenChanges(SCEN.robust[u.id])))));
    }
    sec.appendChild(h("p", { class: "note" }, SCEN.names.map((x) => x.name + (scenDesc(x) ? ": " + scenDesc(x) : "")).join("; ")));
    return sec;
  }

  // ---- unit page --------------------------------------------------------------------------
  function unitView(u) {
    const t = T();
    const tx = u.text[state.lang] || u.text.en;
    const order = UNITS.slice().sort((a, b) => uname(a).localeCompare(uname(b), state.lang));
    const i = order.indexOf(u);
    const prev = order[i - 1], next = order[i + 1];
    const frag = h("article", { class: "unit", id: "unit-" + u.id, "data-id": u.id });
    frag.appendChild(h("div", { class: "unitnav" },
      h("a", { class: "btn", href: "#overview" }, t.back),
      h("a", { class: "btn", href: prev ? unitHref(prev.id) : "#", "aria-disabled": prev ? null : "true" }, t.prev),
      h("a", { class: "btn", href: next ? unitHref(next.id) : "#", "aria-disabled": next ? null : "true" }, t.next),
      h("span", { class: "muted small" }, fill(t.unit_of, { i: i + 1, n: order.length }))));

    const head = h("section", { class: "panel" });
    head.appendChild(h("div", { class: "unithead" },
      h("div", null, h("h2", { class: "uname" }, uname(u)), h("div", { class: "where" }, uregion(u),
        u.territory ? h("span", { class: "territory", id: "territory" }, " · " + territoryName(u.territory)) : null)),
      h("div", { class: "catbig" }, chip(u), " ", u.boundary ? boundaryFlag(true) : null)));
    if (tx.decision) head.appendChild(h("p", { class: "decision", id: "decision" }, say(tx.decision)));
    if (tx.headline) head.appendChild(h("p", { class: "headline" }, say(tx.headline)));
    if (tx.range) head.appendChild(h("p", { class: "range" }, say(tx.range)));
    frag.appendChild(head);

    const left = h("div");
    const right = h("div");
    frag.appendChild(h("div", { class: "grid-unit" }, left, right));
    const ser = D.series[u.id] || {};
    const popSer = ser[META.target];
    const popPanel = h("section", { class: "panel", id: "chart-population" }, h("h3", null, t.card_population));
    if (popSer) {
      popPanel.appendChild(fanChart(popSer, { thresholds: true, unit: u, scenarios: scenLines(u.id, META.target) }));
      append(popPanel, forecastTable(popSer, u));
    } else popPanel.appendChild(h("p", { class: "muted" }, t.not_available));
    left.appendChild(popPanel);
    append(left, componentsPanel(u));
    META.targets.filter((x) => x !== META.target).forEach((target) => {
      // employment: the town's own, or that of the larger territory standing in for it
      const from = target === "employment" && u.jobs ? u.jobs.from : null;
      const tser = from ? (D.series[from.id] || {})[target] : ser[target];
      if (!tser) return;
      const p = h("section", { class: "panel", id: "chart-" + target },
        h("h3", null, target === "employment" ? t.card_jobs : target));
      if (from) p.appendChild(standIn(from, t.jobs_stand_in));
      p.appendChild(fanChart(tser, { thresholds: false, unit: u, scenarios: scenLines(from ? from.id : u.id, target) }));
      append(p, forecastTable(tser, null));
      left.appendChild(p);
    });
    right.appendChild(categoryPanel(u, tx));
    append(right, scenarioPanel(u));
    left.appendChild(factsPanel(u, ser));
    frag.appendChild(driversPanel(u));
    return frag;
  }

  function territoryName(k) { return (T().territories || {})[k] || k; }
  // a note that another territory's numbers stand in for the town's
  function standIn(from, tpl) {
    const name = from.name[state.lang] || from.name.en;
    return h("p", { class: "warn standin" }, "⚠ " + fill(tpl, {
      name: name, territory: from.territory ? territoryName(from.territory) : "",
    }));
  }

  // ---- components of change: births, deaths and migration of each year ----------------------
  const COMP_COLORS = { natural: "#0f766e", migration: "#c2410c", births: "#2563eb", deaths: "#1d2330" };
  function componentsPanel(u) {
    const c = u.comp;
    const rows = c ? (D.components || {})[c.from ? c.from.id : u.id] : null;
    if (!rows || !rows.length) return null;
    const t = T();
    const sec = h("section", { class: "panel", id: "components" }, h("h3", null, t.comp_title));
    if (c.from) sec.appendChild(standIn(c.from, t.comp_stand_in));
    // per 1,000 residents where the population is known (comparable across towns and years)
    const rate = rows.some((r) => isNum(r.per1000.natural) || isNum(r.per1000.migration));
    const val = (r, k) => (rate ? r.per1000[k] : r[k]);
    const fmt = (x) => (rate ? num(x, 1, true) : num(x, 0, true));
    const last = rows.slice(-5);
    const mean = (k) => {
      const xs = last.map((r) => val(r, k)).filter(isNum);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    };
    const nat = mean("natural"), mig = mean("migration");
    const parts = [];
    if (isNum(nat)) parts.push(fill(t.comp_part.natural, { x: fmt(nat) }));
    if (isNum(mig)) parts.push(fill(t.comp_part.migration, { x: fmt(mig) }));
    if (isNum(nat) && isNum(mig)) parts.push(fill(t.comp_part.total, { x: fmt(nat + mig) }));
    if (parts.length) {
      sec.appendChild(h("p", { class: "lead", id: "comp-summary" }, fill(rate ? t.comp_summary_rate : t.comp_summary_abs, {
        from: last[0].year, to: last[last.length - 1].year, parts: parts.join("; "),
      })));
    }
    sec.appendChild(componentsChart(rows, val, rate));
    sec.appendChild(h("p", { class: "note" }, rate ? t.comp_note_rate : t.comp_note_abs));
    const d = h("details", { class: "fctable" }, h("summary", null, t.comp_table));
    const tb = h("tbody");
    rows.slice().reverse().forEach((r) => tb.appendChild(h("tr", null, h("td", null, String(r.year)),
      ["births", "deaths", "natural", "migration"].map((k) => h("td", { class: "num" }, num(r[k], 0, k === "natural" || k === "migration"))))));
    d.appendChild(h("div", { class: "tablewrap" }, h("table", { class: "plain compact" }, h("thead", null, h("tr", null,
      h("th", null, t.fc_year), ["births", "deaths", "natural", "migration"].map((k) => h("th", { class: "num" }, t.comp[k])))), tb)));
    sec.appendChild(d);
    return sec;
  }

  function componentsChart(rows, val, rate) {
    const t = T();
    const W = 720, H = 260, m = { l: 52, r: 14, t: 18, b: 28 };
    const years = rows.map((r) => r.year);
    const y0 = Math.min.apply(null, years) - 0.5, y1 = Math.max.apply(null, years) + 0.5;
    let lo = 0, hi = 0;
    rows.forEach((r) => {
      const n = val(r, "natural"), g = val(r, "migration");
      const up = Math.max(0, isNum(n) ? n : 0) + Math.max(0, isNum(g) ? g : 0);
      const down = Math.min(0, isNum(n) ? n : 0) + Math.min(0, isNum(g) ? g : 0);
      [up, down, val(r, "births"), val(r, "deaths")].filter(isNum).forEach((v) => { lo = Math.min(lo, v); hi = Math.max(hi, v); });
    });
    const pad = (hi - lo || 1) * 0.06;
    lo -= lo < 0 ? pad : 0; hi += pad;
    const X = (y) => m.l + ((y - y0) / (y1 - y0)) * (W - m.l - m.r);
    const Y = (v) => m.t + ((hi - v) / (hi - lo)) * (H - m.t - m.b);
    const bw = Math.max(2, Math.min(22, ((W - m.l - m.r) / rows.length) * 0.7));
    const svg = s("svg", { class: "chart comp", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t.comp_title });
    const ax = s("g", { class: "axis" });
    ticks(lo, hi, 7).forEach((v) => {
      ax.appendChild(s("line", { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v) }));
      ax.appendChild(s("text", { x: m.l - 6, y: Y(v) + 4, "text-anchor": "end" }, num(v, rate && niceStep(hi - lo, 7) < 1 ? 1 : 0, true)));
    });
    const ystep = [1, 2, 5, 10].find((st) => (y1 - y0) / st <= 12) || 10;
    for (let yr = Math.ceil(y0 / ystep) * ystep; yr <= y1; yr += ystep) {
      ax.appendChild(s("text", { x: X(yr), y: H - m.b + 17, "text-anchor": "middle" }, String(yr)));
    }
    ax.appendChild(s("text", { x: m.l - 6, y: m.t - 6, "text-anchor": "start", "font-size": 11 }, rate ? t.comp_per1000 : t.comp_people));
    svg.appendChild(ax);
    svg.appendChild(s("line", { x1: m.l, x2: W - m.r, y1: Y(0), y2: Y(0), stroke: "#1d2330", "stroke-width": 1 }));
    const unit = rate ? " " + t.comp_per1000 : "";
    rows.forEach((r) => {
      let up = 0, down = 0;
      const tip = `${r.year}: ` + ["births", "deaths", "natural", "migration"].filter((k) => isNum(r[k]))
        .map((k) => `${t.comp[k]} ${num(r[k], 0, k === "natural" || k === "migration")}` + (rate && isNum(r.per1000[k]) ? ` (${num(r.per1000[k], 1, k === "natural" || k === "migration")}${unit})` : "")).join("; ");
      ["natural", "migration"].forEach((k) => {
        const v = val(r, k);
        if (!isNum(v) || v === 0) return;
        const a = v > 0 ? up : down, b = a + v;
        if (v > 0) up = b; else down = b;
        svg.appendChild(s("rect", { x: X(r.year) - bw / 2, y: Math.min(Y(a), Y(b)), width: bw, height: Math.max(0.5, Math.abs(Y(a) - Y(b))),
          fill: COMP_COLORS[k], class: "compbar", "data-part": k }, title(tip)));
      });
      const n = val(r, "natural"), g = val(r, "migration");
      if (isNum(n) && isNum(g)) {
        svg.appendChild(s("circle", { cx: X(r.year), cy: Y(n + g), r: 3, fill: "#fff", stroke: "#1d2330", "stroke-width": 1.5 }, title(tip)));
      }
    });
    ["births", "deaths"].forEach((k) => {
      const pts_ = rows.filter((r) => isNum(val(r, k)));
      if (pts_.length < 2) return;
      svg.appendChild(s("polyline", { points: pts_.map((r) => X(r.year).toFixed(1) + "," + Y(val(r, k)).toFixed(1)).join(" "),
        fill: "none", stroke: COMP_COLORS[k], "stroke-width": 1.4, "stroke-dasharray": k === "deaths" ? "4 3" : null, class: "compline", "data-part": k }));
    });
    const wrap = h("div", null, svg);
    const legend = h("div", { class: "legend" });
    const sw = (el) => s("svg", { width: 16, height: 12, viewBox: "0 0 16 12" }, el);
    const has = (k) => rows.some((r) => isNum(val(r, k)));
    const bar = (k) => sw(s("rect", { x: 2, y: 1, width: 12, height: 10, fill: COMP_COLORS[k] }));
    const line = (k) => sw(s("line", { x1: 0, x2: 16, y1: 6, y2: 6, stroke: COMP_COLORS[k], "stroke-width": 1.6, "stroke-dasharray": k === "deaths" ? "4 3" : null }));
    if (has("natural")) legend.appendChild(h("span", null, bar("natural"), t.comp.natural));
    if (has("migration")) legend.appendChild(h("span", null, bar("migration"), t.comp.migration));
    if (rows.some((r) => isNum(val(r, "natural")) && isNum(val(r, "migration")))) {
      legend.appendChild(h("span", null, sw(s("circle", { cx: 8, cy: 6, r: 3, fill: "#fff", stroke: "#1d2330", "stroke-width": 1.5 })), t.comp.total));
    }
    ["births", "deaths"].forEach((k) => { if (has(k)) legend.appendChild(h("span", null, line(k), t.comp[k])); });
    wrap.appendChild(legend);
    return wrap;
  }

  function categoryPanel(u, tx) {
    const t = T();
    const th = META.thresholds;
    const sec = h("section", { class: "panel", id: "category" }, h("h3", null, t.card_category));
    sec.appendChild(h("p", null, chip(u), " ", h("b", null, (t.decision || {})[u.cat] || "")));
    sec.appendChild(h("p", { class: "note", id: "conf-def" }, fill(t.conf_def, { year: u.target_year || META.target_year })));
    const p = u.probs || {};
    if (isNum(p.decline) && isNum(p.mid) && isNum(p.growth)) {
      sec.appendChild(h("h3", null, fill(t.probs_title, { year: u.target_year || META.target_year })));
      const likely = (u.headline || {}).outcome; // the outcome the headline names
      const bar = h("div", { class: "probbar", role: "img" });
      // [outcome, colour (the category that outcome would point to), probability, words]
      const parts = [["decline", "resettle", p.decline, fill(t.prob_decline, { decline: thr(th.decline) })],
        ["mid", "stabilize", p.mid, t.prob_mid], ["growth", "diversify", p.growth, fill(t.prob_growth, { growth: thr(th.growth) })]];
      bar.setAttribute("aria-label", parts.map((x) => x[3] + ": " + prob(x[2])).join("; "));
      const leg = h("div", { class: "problegend" });
      parts.forEach((x) => {
        bar.appendChild(h("div", {
          style: `width:${(100 * x[2]).toFixed(2)}%;background:var(--c-${x[1]})`,
          class: x[0] === likely ? "chosen" : null, title: x[3] + ": " + prob(x[2]), "data-outcome": x[0],
        }, x[2] >= 0.12 ? prob(x[2]) : ""));
        leg.appendChild(h("span", null, icon(x[1]), " ", x[3] + ": ", h("b", null, prob(x[2]))));
      });
      sec.appendChild(bar);
      sec.appendChild(leg);
    }
    sec.appendChild(h("h3", null, t.card_why));
    sec.appendChild(h("ul", { class: "reasons", id: "reasons" }, say(tx.reasons).map((x) => h("li", null, x))));
    if (tx.crossed && tx.crossed.length) {
      sec.appendChild(h("h3", null, t.card_crossed));
      sec.appendChild(h("ul", { class: "reasons" }, say(tx.crossed).map((x) => h("li", null, x))));
    }
    sec.appendChild(h("h3", null, t.card_sens));
    sec.appendChild(h("ul", { class: "reasons", id: "sensitivity" }, say(tx.sensitivity || []).map((x) => h("li", null, x))));
    return sec;
  }

  function fanChart(ser, opt) {
    const t = T();
    const obs = ser.obs || [];
    const fc = ser.fc || [];
    const last = ser.latest || (obs.length ? obs[obs.length - 1] : null);
    const latest = last ? [last.year, last.value] : null;
    const W = 720, H = 300, m = { l: 62, r: 18, t: 14, b: 28 };
    const years = obs.map((o) => o.year).concat(fc.map((f) => f.year));
    if (!years.length) return h("p", { class: "muted" }, t.no_history);
    const fcYears = fc.map((f) => f.year);
    const first = Math.min.apply(null, years);
    const span = fcYears.length ? Math.max.apply(null, fcYears) - (META.as_of || first) : 0;
    // recent history gets the room; older observations stay in the table under the chart
    const x0 = fcYears.length && isNum(META.as_of) ? Math.max(first, META.as_of - Math.max(30, 3 * span + 5)) : first;
    const x1 = Math.max.apply(null, years) + 0.5;
    const hidden = obs.filter((o) => o.year < x0);
    const vals = obs.filter((o) => o.year >= x0).map((o) => o.value).concat(fc.map((f) => (isNum(f.upper) ? f.upper : f.value)));
    const scen = opt.scenarios || [];
    scen.forEach((sc) => sc[1].forEach((p) => vals.push(p[1])));
    const ymax = Math.max.apply(null, vals.filter(isNum)) * 1.08 || 1;
    const X = (y) => m.l + ((y - x0) / Math.max(1, x1 - x0)) * (W - m.l - m.r);
    const Y = (v) => H - m.b - (v / ymax) * (H - m.t - m.b);
    const svg = s("svg", { class: "chart fan", viewBox: `0 0 ${W} ${H}`, role: "img" });
    const ax = s("g", { class: "axis" });
    ticks(0, ymax, 5).forEach((v) => {
      ax.appendChild(s("line", { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v) }));
      ax.appendChild(s("text", { x: m.l - 6, y: Y(v) + 4, "text-anchor": "end" }, num(v)));
    });
    const ystep = [1, 2, 5, 10, 20, 25, 50, 100].find((st) => (x1 - x0) / st <= 9) || 100;
    for (let yr = Math.ceil(x0 / ystep) * ystep; yr <= x1; yr += ystep) {
      ax.appendChild(s("text", { x: X(yr), y: H - m.b + 17, "text-anchor": "middle" }, String(yr)));
    }
    svg.appendChild(ax);
    const asOf = META.as_of;
    if (isNum(asOf) && fc.length) {
      svg.appendChild(s("line", { x1: X(asOf), x2: X(asOf), y1: m.t, y2: H - m.b, stroke: "#9aa3b2", "stroke-dasharray": "4 3" }));
      const lbl = fill(t.chart_from, { year: asOf });
      const right = X(asOf) + 4 + lbl.length * 6 < W - m.r;
      svg.appendChild(s("text", { x: right ? X(asOf) + 4 : X(asOf) - 4, y: m.t + 10, "font-size": 11, fill: "var(--muted)", "text-anchor": right ? "start" : "end" }, lbl));
    }
    const start = latest ? [latest[0], latest[1]] : null;
    const band = fc.filter((f) => isNum(f.lower) && isNum(f.upper));
    if (band.length) {
      const up = (start ? [[start[0], start[1]]] : []).concat(band.map((f) => [f.year, f.upper]));
      const lo = band.map((f) => [f.year, f.lower]).reverse().concat(start ? [[start[0], start[1]]] : []);
      const d = up.concat(lo).map((p, i) => (i ? "L" : "M") + X(p[0]).toFixed(1) + "," + Y(p[1]).toFixed(1)).join("") + "Z";
      svg.appendChild(s("path", { d: d, fill: "var(--band)", "fill-opacity": 0.45, stroke: "none" },
        title(fill(t.legend_range, { level: share(META.level) }))));
    }
    if (opt.thresholds && start && isNum(META.thresholds.decline) && fc.length) {
      const xe = X(fc[fc.length - 1].year);
      const lines = [[start[1], t.legend_nochange, "#6b7280"],
        [start[1] * (1 + META.thresholds.decline / 100), fill(t.legend_decline, { decline: thr(META.thresholds.decline) }), "var(--c-resettle)"]];
      lines.forEach((l) => {
        svg.appendChild(s("line", { x1: X(start[0]), x2: xe, y1: Y(l[0]), y2: Y(l[0]), stroke: l[2], "stroke-width": 1.2, "stroke-dasharray": "2 3" }, title(l[1])));
      });
    }
    const shown = obs.filter((o) => o.year >= x0);
    if (shown.length > 1) {
      svg.appendChild(s("polyline", { points: shown.map((o) => X(o.year).toFixed(1) + "," + Y(o.value).toFixed(1)).join(" "), fill: "none", stroke: "#5b6474", "stroke-width": 1.4 }));
    }
    if (fc.length) {
      const line = (start ? [[start[0], start[1]]] : []).concat(fc.map((f) => [f.year, f.value]));
      svg.appendChild(s("polyline", { points: line.map((p) => X(p[0]).toFixed(1) + "," + Y(p[1]).toFixed(1)).join(" "), fill: "none", stroke: "var(--accent)", "stroke-width": 2.2, "stroke-dasharray": "6 3" }));
      fc.forEach((f) => {
        const c = s("circle", { cx: X(f.year), cy: Y(f.value), r: 2.6, fill: "var(--accent)", class: "fcpt" });
        c.appendChild(title(`${f.year}: ${num(f.value)} (${isNum(f.lower) ? num(f.lower) + " – " + num(f.upper) : ""})`));
        svg.appendChild(c);
      });
    }
    scen.forEach((sc) => {
      const pts = (start ? [[start[0], start[1]]] : []).concat(sc[1].map((p) => [p[0], p[1]]));
      svg.appendChild(s("polyline", { class: "scen-line", "data-scenario": sc[0], points: pts.map((p) => X(p[0]).toFixed(1) + "," + Y(p[1]).toFixed(1)).join(" "), fill: "none", stroke: scenColor(sc[0]), "stroke-width": 1.8 },
        title(sc[0] + ": " + sc[1].map((p) => p[0] + " " + num(p[1])).join(", "))));
    });
    shown.forEach((o) => {
      const note = isNum(o.note) ? D.notes[o.note] : "";
      const src = isNum(o.source) ? D.sources[o.source].url : "";
      const tip = `${o.year}: ${num(o.value)} · ${kindName(o.kind)}` + (note ? "\n" + note : "") + (src ? "\n" + src : "");
      let mk;
      if (o.kind === "census") mk = s("circle", { cx: X(o.year), cy: Y(o.value), r: 4.6, fill: "#1d2330", class: "obs census" });
      else if (o.kind === "estimate") mk = s("circle", { cx: X(o.year), cy: Y(o.value), r: 3.8, fill: "#fff", stroke: "#1d2330", "stroke-width": 1.6, class: "obs estimate" });
      else mk = s("rect", { x: X(o.year) - 3, y: Y(o.value) - 3, width: 6, height: 6, fill: "#5b6474", class: "obs other" });
      mk.appendChild(title(tip));
      svg.appendChild(mk);
    });
    const u = opt.unit;
    if (opt.thresholds && u && isNum(u.forecast) && u.target_year) {
      svg.appendChild(s("circle", { cx: X(u.target_year), cy: Y(u.forecast), r: 5, fill: "var(--accent)", stroke: "#fff", "stroke-width": 1.5 }));
      svg.appendChild(s("text", { x: X(u.target_year) - 8, y: Y(u.forecast) - 9, "text-anchor": "end", "font-size": 12, "font-weight": 700 }, num(u.forecast)));
    }
    const wrap = h("div");
    wrap.appendChild(svg);
    const kinds = new Set(obs.map((o) => o.kind));
    const legend = h("div", { class: "legend" });
    const sw = (el) => s("svg", { width: 16, height: 12, viewBox: "0 0 16 12" }, el);
    if (kinds.has("census")) legend.appendChild(h("span", null, sw(s("circle", { cx: 8, cy: 6, r: 4.5, fill: "#1d2330" })), t.legend_census));
    if (kinds.has("estimate")) legend.appendChild(h("span", null, sw(s("circle", { cx: 8, cy: 6, r: 3.8, fill: "#fff", stroke: "#1d2330", "stroke-width": 1.6 })), t.legend_estimate));
    if ([...kinds].some((k) => k !== "census" && k !== "estimate")) legend.appendChild(h("span", null, sw(s("rect", { x: 5, y: 3, width: 6, height: 6, fill: "#5b6474" })), t.legend_observation));
    if (fc.length) legend.appendChild(h("span", null, sw(s("line", { x1: 0, x2: 16, y1: 6, y2: 6, stroke: "var(--accent)", "stroke-width": 2.2, "stroke-dasharray": "5 2" })), t.legend_forecast));
    if (band.length) legend.appendChild(h("span", null, sw(s("rect", { x: 0, y: 1, width: 16, height: 10, fill: "var(--band)", "fill-opacity": 0.45 })), fill(t.legend_range, { level: share(META.level) })));
    if (opt.thresholds && isNum(META.thresholds.decline) && fc.length) {
      legend.appendChild(h("span", null, sw(s("line", { x1: 0, x2: 16, y1: 6, y2: 6, stroke: "#6b7280", "stroke-dasharray": "2 3", "stroke-width": 1.5 })), t.legend_nochange));
      legend.appendChild(h("span", null, sw(s("line", { x1: 0, x2: 16, y1: 6, y2: 6, stroke: "var(--c-resettle)", "stroke-dasharray": "2 3", "stroke-width": 1.5 })), fill(t.legend_decline, { decline: thr(META.thresholds.decline) })));
    }
    scen.forEach((sc) => legend.appendChild(h("span", null, sw(s("line", { x1: 0, x2: 16, y1: 6, y2: 6, stroke: scenColor(sc[0]), "stroke-width": 2 })), sc[0])));
    wrap.appendChild(legend);
    if (hidden.length) {
      wrap.appendChild(h("p", { class: "note" }, fill(t.chart_earlier, {
        n: num(hidden.length), from: hidden[0].year, to: hidden[hidden.length - 1].year,
      })));
    }
    return wrap;
  }

  function forecastTable(ser, u) {
    const t = T();
    const fc = ser.fc || [];
    if (!fc.length) return null;
    const want = new Set(META.table_horizons.concat([META.horizon, 1]));
    const rows = fc.filter((f) => want.has(f.h));
    const d = h("details", { class: "fctable" }, h("summary", null, t.fc_table));
    const tb = h("tbody");
    rows.forEach((f) => tb.appendChild(h("tr", null, h("td", null, String(f.year)), h("td", { class: "num" }, num(f.value)),
      h("td", { class: "num" }, isNum(f.lower) ? num(f.lower) + " – " + num(f.upper) : "–"))));
    d.appendChild(h("table", { class: "plain compact" },
      h("thead", null, h("tr", null, h("th", null, t.fc_year), h("th", { class: "num" }, t.fc_forecast), h("th", { class: "num" }, fill(t.fc_range, {}) + " (" + share(META.level) + ")"))), tb));
    return d;
  }

  function driversPanel(u) {
    const t = T();
    const sec = h("section", { class: "panel", id: "drivers" }, h("h3", null, t.card_drivers));
    if (!u.wf || !u.wf.length || !isNum(u.latest)) {
      sec.appendChild(h("p", { class: "muted" }, t.wf_not_available));
      return sec;
    }
    sec.appendChild(h("p", { class: "note" }, fill(t.drivers_intro, {
      latest: num(u.latest), ly: u.latest_year, ty: u.target_year, forecast: num(u.forecast),
    })));
    const big = [], small = { persons: 0, pct: 0, n: 0 };
    u.wf.forEach((d) => {
      const persons = isNum(d.persons) ? d.persons : (u.latest * d.pct) / 100;
      if (Math.abs(d.pct) < (META.tiny_pct || 0.25)) { small.persons += persons; small.pct += d.pct; small.n += 1; }
      else big.push({ label: driverName(d.driver), persons: persons, pct: d.pct });
    });
    if (small.n) big.push({ label: t.wf_small, persons: small.persons, pct: small.pct, small: true });
    const end = isNum(u.forecast) ? u.forecast : u.latest + big.reduce((a, b) => a + b.persons, 0);
    let cum = u.latest;
    const steps = big.map((b) => { const a = cum; cum += b.persons; return Object.assign({ a: a, b: cum }, b); });
    const all = [u.latest, end].concat(steps.map((x) => x.b));
    let lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
    const pad = (hi - lo || Math.abs(hi) * 0.05 || 1) * 0.06;
    lo -= pad; hi += pad;
    const W = 980, L = 330, B0 = 345, B1 = 720, rowH = 34;
    const n = steps.length + 2;
    const H = n * rowH + 26;
    const X = (v) => B0 + ((v - lo) / (hi - lo)) * (B1 - B0);
    const svg = s("svg", { class: "chart wf", viewBox: `0 0 ${W} ${H}`, role: "img" });
    const ax = s("g", { class: "axis" });
    ticks(lo, hi, 5).forEach((v) => {
      ax.appendChild(s("line", { x1: X(v), x2: X(v), y1: 4, y2: H - 22 }));
      ax.appendChild(s("text", { x: X(v), y: H - 8, "text-anchor": "middle" }, num(v)));
    });
    svg.appendChild(ax);
    const label = (i, text, cls) => {
      const lines = wrapText(text, 44).slice(0, 2);
      const y = i * rowH + rowH / 2 + 4 - (lines.length - 1) * 7;
      const el = s("text", { x: L, y: y, "text-anchor": "end", class: "lbl " + (cls || "") });
      lines.forEach((ln, k) => el.appendChild(s("tspan", { x: L, dy: k ? 14 : 0 }, ln)));
      el.appendChild(title(text));
      svg.appendChild(el);
    };
    const value = (i, text, cls) => svg.appendChild(s("text", { x: B1 + 10, y: i * rowH + rowH / 2 + 4, class: "val " + (cls || "") }, text));
    // start
    label(0, fill(t.wf_start, { year: u.latest_year }), "tot");
    svg.appendChild(s("rect", { x: X(u.latest) - 2, y: 6, width: 4, height: rowH - 12, fill: "#1d2330" }));
    value(0, num(u.latest), "tot");
    steps.forEach((st, k) => {
      const i = k + 1;
      const x0 = X(Math.min(st.a, st.b)), x1 = X(Math.max(st.a, st.b));
      svg.appendChild(s("line", { x1: X(st.a), x2: X(st.a), y1: i * rowH - rowH + 6, y2: i * rowH + rowH - 6, stroke: "#9aa3b2", "stroke-dasharray": "2 2" }));
      const r = s("rect", { x: x0, y: i * rowH + 7, width: Math.max(1.5, x1 - x0), height: rowH - 14, fill: st.persons >= 0 ? "var(--pos)" : "var(--neg)", rx: 2, class: "wfbar" });
      r.appendChild(title(`${st.label}: ${num(st.persons, 0, true)} (${pts(st.pct)})`));
      svg.appendChild(r);
      label(i, st.label, st.small ? "muted" : "");
      value(i, fill(t.wf_people, { n: num(st.persons, 0, true) }) + "  (" + pts(st.pct) + ")");
    });
    const ie = steps.length + 1;
    label(ie, fill(t.wf_end, { year: u.target_year }), "tot");
    svg.appendChild(s("line", { x1: X(cum), x2: X(cum), y1: ie * rowH - rowH + 6, y2: ie * rowH + 6, stroke: "#9aa3b2", "stroke-dasharray": "2 2" }));
    svg.appendChild(s("rect", { x: X(end) - 2, y: ie * rowH + 6, width: 4, height: rowH - 12, fill: "var(--accent)" }));
    value(ie, num(end) + "  (" + pct(u.change) + ")", "tot");
    sec.appendChild(svg);
    return sec;
  }

  function factsPanel(u, ser) {
    const t = T();
    const sec = h("section", { class: "panel", id: "facts" });
    if (u.attrs && u.attrs.length) {
      sec.appendChild(h("h3", null, t.card_attrs));
      const dl = h("dl", { class: "facts" });
      u.attrs.forEach((a) => {
        let v = "–";
        if (typeof a.flag === "boolean") v = a.flag ? t.yes : t.no;
        else if (isNum(a.num)) v = num(a.num, Math.abs(a.num) < 100 && a.num % 1 ? 1 : 0);
        else if (a.text) v = a.text[state.lang] || a.text.en;
        dl.append(h("dt", null, t.attributes[a.key] || a.key), h("dd", null, v));
      });
      sec.appendChild(dl);
    }
    const rows = [];
    Object.keys(ser).forEach((target) => (ser[target].obs || []).forEach((o) => rows.push(Object.assign({ target: target }, o))));
    const d = h("details", { id: "observations" }, h("summary", null, fill(t.card_obs, { n: num(rows.length) })));
    if (!rows.length) d.appendChild(h("p", { class: "muted" }, t.no_history));
    else {
      const multi = Object.keys(ser).filter((k) => (ser[k].obs || []).length).length > 1;
      const tb = h("tbody");
      rows.forEach((r) => {
        const src = isNum(r.source) ? D.sources[r.source].url : null;
        const note = isNum(r.note) ? D.notes[r.note] : null;
        tb.appendChild(h("tr", null,
          multi ? h("td", null, t.targets[r.target] || r.target) : null,
          h("td", null, String(r.year)), h("td", { class: "num" }, num(r.value)), h("td", null, kindName(r.kind)),
          h("td", { class: "small" }, src ? h("a", { href: src, target: "_blank", rel: "noopener noreferrer" }, hostOf(src)) : "",
            note ? h("span", { class: "sub" }, note) : null)));
      });
      d.appendChild(h("div", { class: "tablewrap" }, h("table", { class: "plain compact" },
        h("thead", null, h("tr", null, multi ? h("th", null, t.obs_target) : null, h("th", null, t.obs_year), h("th", { class: "num" }, t.obs_value), h("th", null, t.obs_kind), h("th", null, t.obs_source))), tb)));
    }
    sec.appendChild(d);
    return sec;
  }

  function hostOf(url) {
    const m = /^[a-z]+:\/\/([^/]+)/i.exec(url);
    return m ? m[1] : url;
  }

  // ---- method and trust -------------------------------------------------------------------
  function methodView() {
    const t = T();
    const frag = h("div", { id: "method" });
    frag.appendChild(h("section", { class: "panel" }, h("h2", null, t.method_title), h("h3", null, t.how_title),
      h("p", null, fill(t.how_text, { noun1: nouns().one, noun: nouns().many }))));
    frag.appendChild(accuracyPanel());
    frag.appendChild(coveragePanel());
    frag.appendChild(dataPanel());
    frag.appendChild(sourcesPanel());
    frag.appendChild(policyPanel());
    frag.appendChild(runPanel());
    return frag;
  }

  function na() { return h("p", { class: "muted" }, T().not_available); }

  function accuracyPanel() {
    const t = T();
    const sec = h("section", { class: "panel", id: "accuracy" }, h("h2", null, t.acc_title), h("p", null, t.acc_intro));
    const byOrigin = D.coverage_by_origin || [];
    if (!D.accuracy && !byOrigin.length) { sec.appendChild(na()); return sec; }
    const targets = Array.from(new Set((D.accuracy || []).concat(byOrigin).map((r) => r.target || META.target)))
      .sort((a, b) => (a !== META.target) - (b !== META.target));
    targets.forEach((target) => {
      const rows = (D.accuracy || []).filter((r) => (r.target || META.target) === target);
      if (targets.length > 1) sec.appendChild(h("h3", null, cap(t.targets[target] || target)));
      const held = originCoverage(byOrigin.filter((r) => (r.target || META.target) === target), target);
      if (!rows.length) { if (held) sec.appendChild(held); return; }
      const hs = Array.from(new Set(rows.map((r) => r.horizon))).sort((a, b) => a - b);
      const methods = Array.from(new Set(rows.map((r) => r.method)));
      const get = (hz, m) => rows.find((r) => r.horizon === hz && r.method === m);
      sec.appendChild(accuracyChart(rows, hs));
      const baselines = methods.filter((m) => m !== "combined" && m !== "model");
      const tb = h("tbody");
      hs.forEach((hz) => {
        const c = get(hz, "combined");
        const nv = get(hz, "naive");
        let best = null;
        baselines.forEach((m) => { const r = get(hz, m); if (r && isNum(r.mape) && (!best || r.mape < best.mape)) best = r; });
        tb.appendChild(h("tr", null, h("td", { class: "num" }, String(hz)), h("td", { class: "num" }, c ? num(c.n) : "–"),
          h("td", { class: "num" }, h("b", null, c ? pct(c.mape, 1, false) : "–")),
          h("td", { class: "num" }, c ? pct(c.mdape, 1, false) : "–"),
          h("td", { class: "num" }, c ? pct(c.malpe, 1, true) : "–"),
          h("td", { class: "num" }, nv ? pct(nv.mape, 1, false) : "–"),
          h("td", null, best ? methodName(best.method) + ": " + pct(best.mape, 1, false) : "–")));
      });
      sec.appendChild(h("div", { class: "tablewrap" }, h("table", { class: "plain", id: "accuracy-table" }, h("thead", null, h("tr", null,
        h("th", { class: "num" }, t.acc_h), h("th", { class: "num" }, t.acc_n), h("th", { class: "num" }, t.acc_mape + " — " + methodName("combined")),
        h("th", { class: "num" }, t.acc_median), h("th", { class: "num" }, t.acc_bias), h("th", { class: "num" }, methodName("naive")), h("th", null, t.acc_best))), tb)));
      const det = h("details", null, h("summary", null, t.acc_all));
      const tb2 = h("tbody");
      methods.forEach((m) => tb2.appendChild(h("tr", null, h("td", null, methodName(m)),
        hs.map((hz) => { const r = get(hz, m); return h("td", { class: "num" }, r ? pct(r.mape, 1, false) + " (" + pct(r.mdape, 1, false) + ")" : "–"); }))));
      det.appendChild(h("div", { class: "tablewrap" }, h("table", { class: "plain compact" },
        h("thead", null, h("tr", null, h("th", null, ""), hs.map((hz) => h("th", { class: "num" }, "+" + hz)))), tb2)));
      sec.appendChild(det);
      if (held) sec.appendChild(held);
    });
    return sec;
  }

  // how often the likely range held, per backtest origin and years ahead (coverage_by_origin.csv)
  function originCoverage(rows, target) {
    const t = T();
    if (!rows.length) return null;
    rows = rows.slice().sort((a, b) => a.origin - b.origin || a.horizon - b.horizon);
    const level = share(META.level);
    const origins = Array.from(new Set(rows.map((r) => String(r.origin))));
    const covs = rows.map((r) => r.coverage).filter(isNum);
    const lo = Math.min.apply(null, covs), hi = Math.max.apply(null, covs);
    const range = !covs.length ? "–" : share(lo) === share(hi) ? share(lo) : share(lo) + "–" + share(hi);
    const tb = h("tbody");
    rows.forEach((r) => {
      // red only when clearly short of the promise (as in the coverage panel: 2 standard errors)
      const lv = META.level, n = r.n || 0, se = Math.sqrt((lv * (1 - lv)) / Math.max(1, n));
      const cls = n >= 10 && isNum(r.coverage) && r.coverage < lv - 2 * se ? "num neg" : "num";
      tb.appendChild(h("tr", null, h("td", { class: "num" }, String(r.origin)), h("td", { class: "num" }, String(r.horizon)),
        h("td", { class: "num" }, num(r.n)), h("td", { class: cls }, share(r.coverage)),
        h("td", { class: "num" }, share(r.below)), h("td", { class: "num" }, share(r.above)),
        h("td", { class: "num" }, pct(r.width_pct, 0, false))));
    });
    return h("div", { class: "origin-coverage", "data-target": target },
      h("h3", null, fill(t.held_title, { level: level })),
      h("p", null, fill(t.held_text, { origins: origins.join(", "), level: level, range: range })),
      h("div", { class: "tablewrap" }, h("table", { class: "plain compact origin-coverage-table" }, h("thead", null, h("tr", null,
        h("th", { class: "num" }, t.held_origin), h("th", { class: "num" }, t.acc_h), h("th", { class: "num" }, t.held_n),
        h("th", { class: "num" }, t.held_inside), h("th", { class: "num" }, t.held_below), h("th", { class: "num" }, t.held_above),
        h("th", { class: "num" }, t.held_width))), tb)));
  }

  function accuracyChart(rows, hs) {
    const t = T();
    const show = [["combined", "var(--accent)", 3, null], ["naive", "#9aa3b2", 2, "5 3"], ["lin_exp", "#a65f00", 1.6, null], ["model", "#6a51a3", 1.4, "2 2"]];
    const W = 720, H = 240, m = { l: 50, r: 16, t: 12, b: 36 };
    const vals = rows.filter((r) => show.some((x) => x[0] === r.method)).map((r) => r.mape).filter(isNum);
    if (!vals.length || !hs.length) return h("div");
    const ymax = Math.max.apply(null, vals) * 1.12;
    const X = (hz) => m.l + ((hz - hs[0]) / Math.max(1, hs[hs.length - 1] - hs[0])) * (W - m.l - m.r);
    const Y = (v) => H - m.b - (v / ymax) * (H - m.t - m.b);
    const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t.acc_chart, style: "max-width:860px" });
    const ax = s("g", { class: "axis" });
    ticks(0, ymax, 4).forEach((v) => {
      ax.appendChild(s("line", { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v) }));
      ax.appendChild(s("text", { x: m.l - 6, y: Y(v) + 4, "text-anchor": "end" }, pct(v, 0, false)));
    });
    hs.forEach((hz) => ax.appendChild(s("text", { x: X(hz), y: H - m.b + 16, "text-anchor": "middle" }, "+" + hz)));
    ax.appendChild(s("text", { x: m.l, y: H - 1, "text-anchor": "start" }, t.acc_h + " →"));
    svg.appendChild(ax);
    const legend = h("div", { class: "legend" });
    show.forEach((sh) => {
      const pts_ = hs.map((hz) => rows.find((r) => r.horizon === hz && r.method === sh[0])).filter((r) => r && isNum(r.mape));
      if (!pts_.length) return;
      svg.appendChild(s("polyline", { points: pts_.map((r) => X(r.horizon) + "," + Y(r.mape)).join(" "), fill: "none", stroke: sh[1], "stroke-width": sh[2], "stroke-dasharray": sh[3] }));
      pts_.forEach((r) => {
        const c = s("circle", { cx: X(r.horizon), cy: Y(r.mape), r: Math.max(2.5, Math.min(6, Math.sqrt(r.n || 1) / 1.5)), fill: sh[1] });
        c.appendChild(title(`${methodName(sh[0])}, +${r.horizon}: ${pct(r.mape, 1, false)} (${T().acc_n}: ${num(r.n)})`));
        svg.appendChild(c);
      });
      legend.appendChild(h("span", null, s("svg", { width: 22, height: 10, viewBox: "0 0 22 10" },
        s("line", { x1: 0, x2: 22, y1: 5, y2: 5, stroke: sh[1], "stroke-width": sh[2], "stroke-dasharray": sh[3] })), methodName(sh[0])));
    });
    const wrap = h("div", null, h("h3", null, t.acc_chart), svg, legend);
    return wrap;
  }

  function coveragePanel() {
    const t = T();
    const sec = h("section", { class: "panel", id: "coverage" }, h("h2", null, t.cov_title),
      h("p", null, fill(t.cov_intro, { level: share(META.level) })));
    const rows = (D.accuracy || []).filter((r) => r.method === "combined" && isNum(r.coverage))
      .sort((a, b) => ((a.target !== META.target) - (b.target !== META.target)) || a.horizon - b.horizon);
    if (!rows.length) sec.appendChild(na());
    else {
      const tb = h("tbody");
      const multi = new Set(rows.map((r) => r.target)).size > 1;
      rows.forEach((r) => {
        const lv = META.level, n = r.n || 0;
        const se = Math.sqrt((lv * (1 - lv)) / Math.max(1, n));
        let verdict = t.cov_ok, cls = "";
        if (n < 10) verdict = t.cov_few;
        else if (r.coverage < lv - 2 * se) { verdict = t.cov_narrow; cls = "neg"; }
        else if (r.coverage > lv + 2 * se) verdict = t.cov_wide;
        tb.appendChild(h("tr", null, multi ? h("td", null, cap(t.targets[r.target] || r.target)) : null,
          h("td", { class: "num" }, String(r.horizon)), h("td", { class: "num" }, num(n)),
          h("td", { class: "num" }, share(lv)), h("td", { class: "num " + cls }, share(r.coverage)),
          h("td", { class: "num" }, isNum(r.width_pct) ? pct(r.width_pct, 0, false) : "–"), h("td", { class: cls }, verdict)));
      });
      sec.appendChild(h("div", { class: "tablewrap" }, h("table", { class: "plain", id: "coverage-table" }, h("thead", null, h("tr", null,
        multi ? h("th", null, "") : null, h("th", { class: "num" }, t.cov_h), h("th", { class: "num" }, t.cov_n), h("th", { class: "num" }, t.cov_nominal),
        h("th", { class: "num" }, t.cov_actual), h("th", { class: "num" }, t.cov_width), h("th", null, t.cov_verdict))), tb)));
    }
    if (D.calibration) {
      const det = h("details", null, h("summary", null, t.cal_title));
      const tb = h("tbody");
      D.calibration.forEach((r) => tb.appendChild(h("tr", null, h("td", null, t.targets[r.target] || r.target || ""),
        h("td", { class: "num" }, String(r.span)), h("td", null, r.size_class === -1 ? t.size_all : String(r.size_class)),
        h("td", { class: "num" }, num(r.q_lo, 3, true)), h("td", { class: "num" }, num(r.q_hi, 3, true)), h("td", { class: "num" }, num(r.n)))));
      det.appendChild(h("table", { class: "plain compact" }, h("thead", null, h("tr", null, h("th", null, ""), h("th", { class: "num" }, t.cal_span),
        h("th", null, t.cal_size), h("th", { class: "num" }, t.cal_lo), h("th", { class: "num" }, t.cal_hi), h("th", { class: "num" }, t.cal_n))), tb));
      sec.appendChild(det);
    }
    return sec;
  }

  function dataPanel() {
    const t = T();
    const sec = h("section", { class: "panel", id: "datacoverage" }, h("h2", null, t.datacov_title),
      h("p", null, fill(t.datacov_intro, { noun1: nouns().one })));
    if (!D.coverage || !D.coverage.length) { sec.appendChild(na()); return sec; }
    const tb = h("tbody");
    D.coverage.slice().sort((a, b) => uname(BY_ID.get(a.id)).localeCompare(uname(BY_ID.get(b.id)), state.lang)).forEach((c) => {
      const u = BY_ID.get(c.id);
      tb.appendChild(h("tr", null, h("td", null, h("a", { href: unitHref(c.id) }, uname(u))), h("td", { class: "num" }, num(c.n)),
        h("td", { class: "num" }, num(c.census)), h("td", { class: "num" }, num(c.estimate)), h("td", { class: "small" }, c.years)));
    });
    const table = h("table", { class: "plain compact" }, h("thead", null, h("tr", null, h("th", null, t.dc_name), h("th", { class: "num" }, t.dc_n),
      h("th", { class: "num" }, t.dc_census), h("th", { class: "num" }, t.dc_estimate), h("th", null, t.dc_years))), tb);
    const det = h("details", { open: D.coverage.length <= 60 ? true : null }, h("summary", null, t.datacov_title + " (" + num(D.coverage.length) + ")"),
      h("div", { class: "tablewrap" }, table));
    sec.appendChild(det);
    return sec;
  }

  function sourcesPanel() {
    const t = T();
    const sec = h("section", { class: "panel", id: "sources" }, h("h2", null, t.sources_title), h("p", null, t.sources_intro));
    if (D.map) {
      sec.appendChild(h("p", { class: "note", id: "map-source" }, fill(t.map_source, { source: D.map.source })));
      sec.appendChild(h("p", { class: "note", id: "names-source" }, t.names_source));
    }
    if (!D.sources || !D.sources.length) { sec.appendChild(na()); return sec; }
    const tb = h("tbody");
    D.sources.slice().sort((a, b) => b.n - a.n).forEach((sr) => tb.appendChild(h("tr", null,
      h("td", { class: "small", style: "word-break:break-all" }, h("a", { href: sr.url, target: "_blank", rel: "noopener noreferrer" }, sr.url)),
      h("td", { class: "num" }, num(sr.n)))));
    sec.appendChild(h("details", { open: D.sources.length <= 30 ? true : null }, h("summary", null, t.sources_title + " (" + num(D.sources.length) + ")"),
      h("div", { class: "tablewrap" }, h("table", { class: "plain compact" }, h("thead", null, h("tr", null, h("th", null, t.src_url), h("th", { class: "num" }, t.src_n))), tb))));
    return sec;
  }

  function policyPanel() {
    const t = T();
    const sec = h("section", { class: "panel", id: "policy" }, h("h2", null, t.policy_title));
    if (!D.policy_rows || !D.policy_rows.length) { sec.appendChild(na()); return sec; }
    sec.appendChild(h("p", null, fill(t.policy_intro, { name: META.policy_name || "policy" })));
    const tb = h("tbody");
    D.policy_rows.forEach((r) => tb.appendChild(h("tr", null, h("td", null, r.label[state.lang] || r.label.en), h("td", null, say(r.value[state.lang] || r.value.en)))));
    sec.appendChild(h("table", { class: "plain", id: "policy-table" }, h("thead", null, h("tr", null, h("th", null, t.pol_setting), h("th", null, t.pol_value))), tb));
    const rec = D.policy_record && (D.policy_record[state.lang] || D.policy_record.en);
    if (rec && rec.length) {
      sec.appendChild(h("div", { id: "policy-record" }, h("h3", null, t.policy_record.title),
        rec.map((x, i) => h("p", { class: i ? "note" : null }, say(x)))));
    }
    if (D.sensitivity && D.sensitivity.length) {
      sec.appendChild(h("h3", null, t.sens_title));
      sec.appendChild(h("p", null, t.sens_intro));
      const tb2 = h("tbody");
      D.sensitivity.forEach((r) => tb2.appendChild(h("tr", null, h("td", null, t.thresholds[r.threshold] || r.threshold),
        h("td", { class: "num" }, r.unit === "km" ? num(r.move, 0, true) + NBSP + t.unit_km : pts(r.move)),
        h("td", { class: "num" }, isNum(r.units_changing) ? num(r.units_changing) : "–"))));
      sec.appendChild(h("table", { class: "plain compact" }, h("thead", null, h("tr", null, h("th", null, t.sens_th), h("th", { class: "num" }, t.sens_move), h("th", { class: "num" }, t.sens_n))), tb2));
    }
    return sec;
  }

  function runPanel() {
    const t = T();
    const sec = h("section", { class: "panel", id: "run" }, h("h2", null, t.run_title));
    const dl = h("dl", { class: "facts" });
    const add = (k, v) => { if (v !== null && v !== undefined && v !== "") dl.append(h("dt", null, k), h("dd", null, String(v))); };
    add(t.run_dataset, (META.dataset_title[state.lang] || META.dataset) + " (" + META.dataset + ")");
    add(t.run_as_of, META.as_of);
    add(t.run_version, META.version);
    add(t.run_digest, META.digest);
    add(t.run_level, share(META.level));
    add(t.run_horizons, (META.horizons || []).join(", "));
    add(t.run_created, META.created);
    add(t.run_folder, META.folder);
    sec.appendChild(dl);
    if (META.problems && META.problems.length) {
      sec.appendChild(h("p", { class: "warn" }, t.run_problems));
      sec.appendChild(h("ul", { class: "small" }, META.problems.map((x) => h("li", null, x))));
    }
    const w = say((D.warnings || {})[state.lang] || []);
    if (w.length) {
      const det = h("details", null, h("summary", null, fill(t.warnings_title, { n: num(w.length) })), h("p", { class: "note" }, t.warnings_intro),
        h("ul", { class: "small" }, w.map((x) => h("li", null, x))));
      sec.appendChild(det);
    }
    return sec;
  }

  window.addEventListener("hashchange", () => render(true));
  render(false);
  document.documentElement.setAttribute("data-ready", "1");
})();
