/* foedus web app: plain JavaScript, no build step.
 *
 * The page holds the view state (selected packages, lever edits, assumption
 * overrides, futures settings), mirrors it in the URL hash so a view can be
 * shared, and asks the JSON API for every number: /api/compare (central
 * values, baseline and current, the bottom line) on every move, debounced
 * by 50 ms (and again for a pinned state, when there is one), /api/compare/detail
 * (one package's guarantors and commitments: for the package being shaped while
 * "Who pays, who deploys" is on screen or its commitments are open, for another
 * package when its "all N guarantors" is opened), /api/explore
 * (robustness across futures, PRIM box) after it, /api/scenarios (each
 * package in every named will scenario) while that view is shown, /api/by-year
 * (the package being shaped year by year, baseline and current) after each
 * comparison, and
 * /api/sensitivity (Sobol' indices) when the sensitivity view asks, /api/designs and
 * /api/optimise (the design search and its front) when the design-search panel asks. No model runs here:
 * this file only draws what the API returns.
 */
"use strict";

// Opened as /?token=… (a server reachable from the network): the server has
// set its HttpOnly cookie, so take the token out of the address bar, the
// history and any link copied from the page.
if (new URLSearchParams(location.search).has("token")) history.replaceState(null, "", location.pathname + location.hash);

const DEBOUNCE_MS = 50;
const EXPLORE_DEBOUNCE_MS = 150;
const COLORS = { base: "#aab2bd", cur: "#1f5fa8", cur2: "#e07b00", pin: "#7b3fa0", existing: "#b9cde6", short: "#b3261e", capacity: "#2e7d32" };
const VIEWS = ["summary", "table", "scenarios", "sensitivity"];
const WILL = "will.";  // the political-will parameters (will.USA, will.default, will.<ISO3>)
const WILL_SHORT = { "will.USA": "US", "will.default": "others" };
const PLOTLY_CONFIG = { displayModeBar: false, responsive: true };

const S = {
  packages: [], focus: null, overrides: {}, edits: {}, horizon: null,
  n: 2000, thresholds: "attack_probability<=0.1", pctMetric: "attack_probability", live: true,
  view: "summary", pin: null,  // pin: {overrides, edits, horizon[, as: {design id: base id}]} kept as a second column set
  sens: { pkg: null, n: null, metric: "attack_probability" }, guarantor: null,
};
const D = { meta: null, catalogue: {}, order: [], params: [], paramByName: {}, basisCounts: null, calibration: null, last: null, lastExplore: null,
  pinned: null, sens: null, sensKey: null, scen: null, scenKey: null, years: null, designs: null, ds: null, dsChosen: null,
  detail: null, details: new Map(), detailStale: true };

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
  return e;
};

/* ---------------------------------------------------------------- status */
function status(text, isError = false) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", isError);
}

async function api(path, body, signal, method) {
  const opts = body === undefined ? { signal, method: method || "GET" } : { method: method || "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal };
  const r = await fetch(path, opts);
  const ct = r.headers.get("content-type") || "";
  const data = ct.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const msg = data && data.detail ? data.detail : `HTTP ${r.status}`;
    const err = new Error(msg);
    err.status = r.status;
    err.retryAfter = parseFloat(r.headers.get("retry-after")) || null;  // 429 (rate limit) and 503 (busy)
    err.data = data;
    throw err;
  }
  return data;
}

/* ------------------------------------------------------------ formatting */
// Display only (units and rounding); every value comes from the API.
function fmtParam(unit, v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if ((unit === "probability" || unit === "fraction") && v === 0) return "0%";
  if (unit === "probability" || unit === "fraction") return v > 0 && v < 0.01 ? `${+(100 * v).toPrecision(2)}%` : `${(100 * v).toFixed(v < 0.1 ? 1 : 0)}%`;
  if (unit.startsWith("usd")) {
    const suffix = unit === "usd_per_person_year" ? "/soldier-yr" : unit === "usd_per_year" ? "/yr" : "";
    if (Math.abs(v) >= 1e9) return `$${(v / 1e9).toFixed(1)} bn${suffix}`;
    if (Math.abs(v) >= 1e6) return `$${(v / 1e6).toFixed(0)} m${suffix}`;
    if (Math.abs(v) >= 1e3) return `$${(v / 1e3).toFixed(0)}k${suffix}`;
    return `$${v.toFixed(0)}${suffix}`;
  }
  if (unit === "persons" || unit.startsWith("troop_equivalents")) return Math.round(v).toLocaleString("en-US");
  if (unit === "ratio") return `${v.toFixed(2)}×`;
  if (unit === "years") return `${v.toFixed(0)} yr`;
  if (unit === "days") return `${v.toFixed(0)} d`;
  return `${+v.toPrecision(4)}`;
}
const fmtTroops = (v) => Math.round(v).toLocaleString("en-US");
const fmtBn = (v) => `$${(v / 1e9).toFixed(1)} bn`;

function axisFor(metric) {
  const kind = (D.meta.metrics[metric] || {}).kind;
  if (kind === "prob") return { tickformat: ".0%", rangemode: "tozero" };
  if (kind === "pct_gdp") return { tickformat: ".1%", rangemode: "tozero" };
  if (kind === "usd") return { ticksuffix: " bn", tickprefix: "$", rangemode: "tozero" };
  return { rangemode: "tozero", separatethousands: true };
}
const scaleFor = (metric) => ((D.meta.metrics[metric] || {}).kind === "usd" ? 1e-9 : 1);
const labelOf = (metric) => (D.meta.metrics[metric] || { label: metric }).label;

/* ------------------------------------------------------------ URL state */
function encodeState() {
  const q = new URLSearchParams();
  q.set("p", S.packages.join(","));
  if (S.focus) q.set("f", S.focus);
  const o = Object.entries(S.overrides).map(([k, v]) => `${k}:${+v.toPrecision(6)}`).join(",");
  if (o) q.set("o", o);
  const edits = activeEdits();
  if (Object.keys(edits).length) q.set("e", JSON.stringify(edits));
  if (S.horizon !== null) q.set("h", String(S.horizon));
  q.set("n", String(S.n));
  q.set("t", S.thresholds);
  if (S.pctMetric !== "attack_probability") q.set("m", S.pctMetric);
  if (!S.live) q.set("live", "0");
  if (S.view !== "summary") q.set("v", S.view);
  if (S.pin) q.set("pin", JSON.stringify(S.pin));
  if (S.sens.pkg) q.set("sp", S.sens.pkg);
  if (S.sens.n) q.set("sn", String(S.sens.n));
  if (S.sens.metric !== "attack_probability") q.set("sm", S.sens.metric);
  return q.toString();
}

function writeHash() {
  const h = "#" + encodeState();
  if (location.hash !== h) history.replaceState(null, "", h);
}

function readHash() {
  const q = new URLSearchParams(location.hash.slice(1));
  if (q.has("p")) S.packages = q.get("p").split(",").filter(Boolean);
  if (q.has("f")) S.focus = q.get("f");
  S.overrides = {};
  if (q.get("o")) {
    for (const part of q.get("o").split(",")) {
      const i = part.lastIndexOf(":");
      const v = parseFloat(part.slice(i + 1));
      if (i > 0 && Number.isFinite(v)) S.overrides[part.slice(0, i)] = v;
    }
  }
  S.edits = {};
  if (q.get("e")) {
    try { S.edits = JSON.parse(q.get("e")) || {}; } catch (e) { status("could not read the edits in the link", true); }
  }
  S.horizon = q.has("h") ? parseFloat(q.get("h")) : null;
  if (q.has("n")) S.n = parseInt(q.get("n"), 10) || 2000;
  if (q.has("t")) S.thresholds = q.get("t");
  if (q.has("m")) S.pctMetric = q.get("m");
  S.live = q.get("live") !== "0";
  S.view = VIEWS.includes(q.get("v")) ? q.get("v") : "summary";
  S.pin = null;
  if (q.get("pin")) {
    try {
      const p = JSON.parse(q.get("pin"));
      S.pin = { overrides: p.overrides || {}, edits: p.edits || {}, horizon: p.horizon ?? null };
      if (p.as && typeof p.as === "object" && Object.keys(p.as).length) S.pin.as = p.as;
    } catch (e) { status("could not read the pinned state in the link", true); }
  }
  S.sens = { pkg: q.get("sp") || null, n: q.has("sn") ? parseInt(q.get("sn"), 10) || null : null, metric: q.get("sm") || "attack_probability" };
}

/* ------------------------------------------------------------ requests */
function isEmptyEdit(e) {
  if (!e) return true;
  return !Object.entries(e).some(([k, v]) => v !== null && v !== undefined && !(typeof v === "object" && Object.keys(v).length === 0));
}
function activeEdits() {
  const out = {};
  for (const pid of S.packages) if (!isEmptyEdit(S.edits[pid])) out[pid] = S.edits[pid];
  return out;
}
function scenarioBody() {
  const body = { packages: S.packages, overrides: S.overrides, edits: activeEdits() };
  if (S.horizon !== null) body.horizon = S.horizon;
  return body;
}
// The pinned state, for the packages shown now (a package added since is shown as shipped). A design
// found by the design search may be pinned against its base (pin.as): the base is asked in its place.
function pinAs() { return Object.fromEntries(Object.entries((S.pin && S.pin.as) || {}).filter(([, b]) => D.catalogue[b])); }
function pinnedBody(pk = S.packages) {
  const as = pinAs();
  const ids = [...new Set(pk.map((pid) => as[pid] || pid))];
  const edits = {};
  for (const pid of ids) if (!isEmptyEdit(S.pin.edits[pid])) edits[pid] = S.pin.edits[pid];
  const body = { packages: ids, overrides: S.pin.overrides, edits };
  if (S.pin.horizon !== null && S.pin.horizon !== undefined) body.horizon = S.pin.horizon;
  return body;
}
// The pinned answer as the page shows it: each package of `pk` with the pinned figures of the package
// asked in its place (its base, for a design pinned against it; else itself).
function pinnedView(res, pk) {
  const as = pinAs();
  if (!pk.some((pid) => as[pid])) return res;
  const src = (pid) => as[pid] || pid;
  const bl = Object.fromEntries(res.bottom_line.current.map((r) => [r.id, r]));
  const cur = Object.fromEntries(res.current.packages.map((p) => [p.id, p]));
  const pick = (o) => (o ? Object.fromEntries(pk.map((pid) => [pid, o[src(pid)]])) : o);
  return { ...res, packages: pk.slice(), asked: res.packages,
    bottom_line: { ...res.bottom_line, current: pk.map((pid) => ({ ...bl[src(pid)], id: pid })) },
    current: { ...res.current, packages: pk.map((pid) => ({ ...cur[src(pid)], id: pid })) },
    display: pick(res.display), range_display: pick(res.range_display) };
}
function thresholdList() {
  return S.thresholds.split(/[;\n]/).map((t) => t.trim()).filter(Boolean);
}

let compareTimer = null, compareCtl = null, compareSeq = 0;
function scheduleUpdate() {
  writeHash();
  clearTimeout(compareTimer);
  compareTimer = setTimeout(runCompare, DEBOUNCE_MS);
}

async function runCompare() {
  if (!S.packages.length) { status("select at least one package", true); return; }
  if (compareCtl) compareCtl.abort();
  compareCtl = new AbortController();
  const seq = ++compareSeq;
  const t0 = performance.now();
  status("updating…");
  try {
    const pk = S.packages.slice();
    const [res, pinned] = await Promise.all([api("/api/compare", scenarioBody(), compareCtl.signal),
      S.pin ? api("/api/compare", pinnedBody(pk), compareCtl.signal) : Promise.resolve(null)]);
    if (seq !== compareSeq) return;
    D.last = res;
    D.details.clear();  // a package may have been replaced by an upload since
    D.pinned = pinned && pinnedView(pinned, pk);
    renderCompare(res);
    status(`updated in ${Math.round(performance.now() - t0)} ms (server ${Math.round(res.elapsed_ms)} ms)`);
    document.body.dataset.compareSeq = String(seq);
    runYears();
    D.detailStale = true;
    if (onScreen($("guarantor-view")) || $("commitments-box").open) runDetail();
    if (S.live) scheduleExplore();
    if (S.view === "scenarios") runScenarios();
  } catch (err) {
    if (err.name === "AbortError") return;
    if (err.status === 429 && err.retryAfter) {  // over this client's rate limit: try again when the server says
      status(`${err.message} (retrying)`, true);
      clearTimeout(compareTimer);
      compareTimer = setTimeout(runCompare, err.retryAfter * 1000);
      return;
    }
    status(err.message, true);
  }
}

let exploreTimer = null, exploreBusy = false, exploreDirty = false;
function scheduleExplore() {
  clearTimeout(exploreTimer);
  exploreTimer = setTimeout(runExplore, EXPLORE_DEBOUNCE_MS);
}
async function runExplore() {
  if (exploreBusy) { exploreDirty = true; return; }
  exploreBusy = true;
  exploreDirty = false;
  const body = { ...scenarioBody(), n_futures: S.n, thresholds: thresholdList() };
  const t0 = performance.now();
  $("box-message").textContent = `sampling ${S.n.toLocaleString("en-US")} futures…`;
  try {
    const res = await api("/api/explore", body);
    D.lastExplore = res;
    renderExplore(res);
    status(`futures: ${res.n_futures.toLocaleString("en-US")} in ${Math.round(performance.now() - t0)} ms (server ${Math.round(res.elapsed_ms)} ms)`);
    // then the failure box of the package being shaped (PRIM; the futures are cached on the server)
    if (S.focus && !exploreDirty) {
      $("box-message").textContent = `finding where ${S.focus} fails…`;
      const disc = await api("/api/discover", { ...body, focus: S.focus });
      res.failure_box = disc.failure_box;
      renderBoxSection(disc.failure_box);
    }
    document.body.dataset.exploreDone = String(Date.now());
  } catch (err) {
    $("box-message").textContent = `futures: ${err.message}`;
    status(err.message, true);
    if (err.status === 429 && err.retryAfter) { clearTimeout(exploreTimer); exploreTimer = setTimeout(runExplore, err.retryAfter * 1000); }
  } finally {
    exploreBusy = false;
    if (exploreDirty) scheduleExplore();
  }
}

/* ------------------------------------------------------------ packages */
function renderPicker() {
  const box = $("package-list");
  box.replaceChildren();
  for (const pid of D.order) {
    const p = D.catalogue[pid];
    const cb = el("input", { type: "checkbox", value: pid, "data-testid": `pick-${pid}` });
    cb.checked = S.packages.includes(pid);
    cb.addEventListener("change", () => {
      if (cb.checked) S.packages = D.order.filter((x) => x === pid || S.packages.includes(x));
      else S.packages = S.packages.filter((x) => x !== pid);
      if (!S.packages.includes(S.focus)) S.focus = S.packages[0] || null;
      renderFocus();
      renderLevers();
      scheduleUpdate();
    });
    const info = el("button", { class: "info", type: "button", title: "What is in this package", onclick: (e) => { e.preventDefault(); showPackage(pid); } }, "i");
    const del = p.origin === "upload"
      ? el("button", { class: "del", type: "button", title: `Delete ${pid} from the server`, "aria-label": `Delete ${pid}`, "data-testid": `delete-${pid}`,
        onclick: (e) => { e.preventDefault(); confirmDelete(pid); } }, "×")
      : null;
    box.append(el("label", {}, cb, el("span", {}, p.title, " ", el("span", { class: "pid" }, pid), p.origin === "upload" ? el("span", { class: "upload" }, " (uploaded)") : null), info, del));
  }
}

function renderFocus() {
  const sel = $("focus");
  sel.replaceChildren(...S.packages.map((pid) => el("option", { value: pid }, `${D.catalogue[pid].title} (${pid})`)));
  if (S.focus) sel.value = S.focus;
}

function editOf(pid) {
  if (!S.edits[pid]) S.edits[pid] = {};
  return S.edits[pid];
}

function sliderBlock({ id, label, min, max, step, value, baseText, format, onInput, info, testid, moves }) {
  const out = el("output", { id: `${id}-out` }, format(value));
  const input = el("input", { type: "range", id, min, max, step, value, "aria-label": label, "data-testid": testid || id });
  const head = el("div", { class: "slider-head" }, el("span", {}, label, info || null), el("span", {}, out, baseText ? el("span", { class: "base" }, ` base ${baseText}`) : null));
  if (moves) input.setAttribute("aria-describedby", moves.id = `${id}-moves`);
  const block = el("div", { class: "slider" }, head, moves || null, input);
  input.addEventListener("input", () => {
    const v = parseFloat(input.value);
    out.textContent = format(v);
    onInput(v, block);
  });
  return block;
}

function renderLevers() {
  const pid = S.focus;
  const ts = $("troop-sliders"), as = $("aid-sliders");
  ts.replaceChildren();
  as.replaceChildren();
  $("aircraft-sliders").replaceChildren();
  $("air-defence-sliders").replaceChildren();
  if (!pid || !D.catalogue[pid]) return;
  const base = D.catalogue[pid].levers;
  const ed = S.edits[pid] || {};
  const lf = $("lever-legal-form");
  lf.replaceChildren(el("option", { value: "" }, `as in the package (${base.legal_forms.map((f) => f.replaceAll("_", " ")).join(", ")})`),
    ...D.meta.legal_forms.map((f) => el("option", { value: f }, f.replaceAll("_", " "))));
  lf.value = ed.legal_form || "";
  const po = $("lever-posture");
  po.replaceChildren(el("option", { value: "" }, base.postures.length ? `as in the package (${base.postures.map((f) => f.replaceAll("_", " ")).join(", ")})` : "as in the package (no ground force)"),
    ...D.meta.postures.map((f) => el("option", { value: f }, f.replaceAll("_", " "))));
  po.value = ed.posture || "";
  const aid = $("lever-aid-scale");
  aid.value = ed.aid_scale ?? 1;
  $("lever-aid-scale-out").textContent = aidScaleText(parseFloat(aid.value), base.total_aid_usd_per_year);

  const removed = ed.remove || [];
  const names = forceSliders(ts, pid, "troops", base.troops, { floor: 20000, step: 100, testid: "troops",
    none: "No ground force in this package: add a guarantor's troops below." });
  const air = forceSliders($("aircraft-sliders"), pid, "aircraft", base.aircraft || {}, { floor: 100, step: 1, testid: "aircraft",
    none: "No combat aircraft in this package: add a guarantor's below." });
  const ad = forceSliders($("air-defence-sliders"), pid, "air_defence", base.air_defence || {}, { floor: 5000, step: 50, testid: "air-defence",
    none: "No air-defence personnel in this package: add a guarantor's below." });
  $("aircraft-box").open = air.length > 0;
  $("air-defence-box").open = ad.length > 0;
  const kind = $("add-kind").value || "troops";
  const have = { troops: names, aircraft: air, air_defence: ad }[kind];
  const add = $("add-guarantor");
  add.replaceChildren(...D.meta.countries.filter((c) => !have.includes(c.iso3) && !removed.includes(c.iso3)).map((c) => el("option", { value: c.iso3 }, `${c.name} (${c.iso3})`)));

  const aidNames = Object.keys({ ...base.aid_usd, ...(ed.aid_usd || {}) }).filter((g) => !removed.includes(g));
  if (!aidNames.length) as.append(el("p", { class: "hint" }, "No military aid in this package."));
  for (const g of aidNames.sort((a, b) => (base.aid_usd[b] || 0) - (base.aid_usd[a] || 0))) {
    const b = base.aid_usd[g] || 0;
    const cur = (ed.aid_usd || {})[g] ?? b;
    const max = Math.max(5e9, Math.ceil((3 * Math.max(b, cur)) / 1e9) * 1e9);
    as.append(sliderBlock({
      id: `aid-${g}`, label: countryName(g), min: 0, max, step: 1e8, value: cur, baseText: fmtBn(b), format: fmtBn,
      onInput: (v) => {
        const e = editOf(pid);
        e.aid_usd = e.aid_usd || {};
        if (v === b) delete e.aid_usd[g]; else e.aid_usd[g] = v;
        scheduleUpdate();
      },
    }));
  }
  renderGuarantorLever();
}

// Sliders of one force per guarantor (ground troops, combat aircraft, air-defence
// personnel): the package's value as baseline, the edit as current; returns the guarantors shown.
function forceSliders(box, pid, key, base, { floor, step, testid, none }) {
  const ed = S.edits[pid] || {};
  const removed = ed.remove || [];
  const vals = { ...base, ...(ed[key] || {}) };
  const names = Object.keys(vals).filter((g) => !removed.includes(g)).sort((a, b) => (base[b] || 0) - (base[a] || 0));
  if (!names.length) box.append(el("p", { class: "hint" }, none));
  for (const g of names) {
    const b = base[g] || 0;
    const max = Math.max(floor, Math.ceil((2.5 * Math.max(b, vals[g])) / (10 * step)) * 10 * step);
    box.append(sliderBlock({
      id: `${testid}-${g}`, testid: `${testid}-${g}`, label: countryName(g), min: 0, max, step, value: vals[g],
      baseText: fmtTroops(b), format: fmtTroops,
      onInput: (v) => {
        const e = editOf(pid);
        e[key] = e[key] || {};
        if (v === b && b > 0) delete e[key][g]; else e[key][g] = v;
        scheduleUpdate();
      },
    }));
  }
  return names;
}

// One guarantor of the package being shaped: its legal form, the posture of its
// forces, and taking it out (as "whose promise counts" does).
function renderGuarantorLever() {
  const pid = S.focus;
  if (!pid || !D.catalogue[pid]) return;
  const base = D.catalogue[pid].levers;
  const ed = S.edits[pid] || {};
  const removed = ed.remove || [];
  const bound = D.last ? D.last.baseline_guarantors[pid] || [] : [];  // with those bound only through a group
  const all = [...new Set([...base.guarantors, ...bound])];
  const sel = $("lever-guarantor");
  const kept = all.filter((g) => !removed.includes(g));
  sel.replaceChildren(...kept.map((g) => el("option", { value: g }, base.guarantors.includes(g) ? `${countryName(g)} (${g})` : `${countryName(g)} (${g}, through a group)`)));
  if (!kept.includes(S.guarantor)) S.guarantor = kept[0] || null;
  if (S.guarantor) sel.value = S.guarantor;
  const g = S.guarantor;
  const own = g ? base.by_guarantor[g] : null;  // null: bound only through a group (NATO, EU)
  const gf = $("lever-guarantor-form");
  $("lever-guarantor-form-box").hidden = !own;
  if (own) {
    gf.replaceChildren(el("option", { value: "" }, `as in the package (${own.legal_forms.map((f) => f.replaceAll("_", " ")).join(", ")})`),
      ...D.meta.legal_forms.map((f) => el("option", { value: f }, f.replaceAll("_", " "))));
    gf.value = (ed.legal_form_of || {})[g] || "";
  }
  const gp = $("lever-guarantor-posture");
  $("lever-guarantor-posture-box").hidden = !(own && own.postures.length);
  if (own && own.postures.length) {
    gp.replaceChildren(el("option", { value: "" }, `as in the package (${own.postures.map((f) => f.replaceAll("_", " ")).join(", ")})`),
      ...D.meta.postures.map((f) => el("option", { value: f }, f.replaceAll("_", " "))));
    gp.value = (ed.posture_of || {})[g] || "";
  }
  $("lever-remove").disabled = !g;
  $("lever-remove").textContent = g ? `Take ${countryName(g)} out of the package` : "Take it out of the package";
  const box = $("removed-list");
  box.replaceChildren(...(removed.length ? [el("span", { class: "hint" }, "Taken out: "), ...removed.map((r) => el("button", {
    type: "button", class: "chip", "data-testid": `restore-${r}`, title: `Put ${countryName(r)} back`,
    onclick: () => { const e = editOf(pid); e.remove = (e.remove || []).filter((x) => x !== r); if (!e.remove.length) delete e.remove; renderLevers(); scheduleUpdate(); },
  }, `${countryName(r)} ×`))] : []));
}

function setGuarantorEdit(key, value) {
  const e = editOf(S.focus);
  e[key] = e[key] || {};
  if (value) e[key][S.guarantor] = value; else delete e[key][S.guarantor];
  if (!Object.keys(e[key]).length) delete e[key];
  scheduleUpdate();
}

function aidScaleText(v, total) {
  return `${v.toFixed(2)}× (${fmtBn(v * total)}/yr)`;
}
function countryName(iso) {
  const c = D.meta.countries.find((x) => x.iso3 === iso);
  return c ? `${c.name}` : iso;
}

/* ------------------------------------------------------------ assumptions */
// What an assumption slider moves, exactly: the parameters it sets, by name,
// and (for one) the first sentence of its description, from the data.
function movesLine(testid, names) {
  const what = names.length === 1 ? aboutParam(names[0], 80) : "together";
  return el("div", { class: "moves", "data-testid": `moves-${testid}` }, "moves ",
    ...names.flatMap((n, i) => [i ? ", " : "", el("code", {}, n)]), what ? `: ${what}` : "");
}

// A parameter's description: its first sentence, cut at a word to about `max` characters.
function aboutParam(name, max = 110) {
  const d = ((D.paramByName[name] || {}).description || "").split(/(?<=[.!?])\s+(?=[A-Z])/)[0];
  return d.length > max ? d.slice(0, d.lastIndexOf(" ", max - 2)) + " …" : d;
}

// The value an assumption slider shows: its override, else (a per-country
// will) the override of will.default it falls back on, else its default.
function assumptionValue(a) {
  if (S.overrides[a.name] !== undefined) return S.overrides[a.name];
  if (a.group === "will-eu" && S.overrides["will.default"] !== undefined) return S.overrides["will.default"];
  return a.value;
}

// "base 50%", and where the slider spans more than the sampled range (a will), that range.
function baseNote(a) {
  const s = a.sampled;
  const wider = s && (a.low < s[0] - 1e-12 || a.high > s[1] + 1e-12);
  return fmtParam(a.unit, a.value) + (wider ? ` · sampled ${fmtParam(a.unit, s[0])}–${fmtParam(a.unit, s[1])}` : "");
}

function renderAssumptions() {
  renderWillScenarios();
  const box = $("assumption-sliders");
  box.replaceChildren();
  const groups = { will: "Political will", reliability: "Alliance reliability", adversary: "Adversary", deterrence: "Deterrence", forces: "Forces", costs: "Costs" };
  let lastGroup = null;
  let euBox = null;
  for (const a of D.meta.assumptions) {
    const g = a.group === "will-eu" ? "will" : a.group;
    if (g !== lastGroup) { box.append(el("div", { class: "group-title" }, groups[g] || g)); lastGroup = g; }
    if (a.group === "will-eu" && !euBox) {
      const master = D.meta.assumptions.find((x) => x.name === "will.default");
      euBox = el("div", { class: "sub-sliders" });
      const euVal = assumptionValue(master);
      box.append(sliderBlock({
        id: "will-europe", testid: "assume-will-europe", label: "European political will (all European guarantors)", min: master.low, max: master.high, step: master.step,
        value: euVal, baseText: null, format: (v) => fmtParam("probability", v),
        info: infoButton("will.default"), moves: movesLine("will-europe", D.meta.european_will),
        onInput: (v) => {
          for (const n of D.meta.european_will) S.overrides[n] = v;
          syncAssumptionInputs();
          scheduleUpdate();
        },
      }));
      box.append(el("details", {}, el("summary", {}, "by country"), euBox));
    }
    const block = sliderBlock({
      id: `assume-${a.name}`, testid: `assume-${a.name}`, label: a.title, min: a.low, max: a.high, step: a.step,
      value: assumptionValue(a), baseText: baseNote(a), format: (v) => fmtParam(a.unit, v),
      info: infoButton(a.name), moves: movesLine(a.name, [a.name]),
      onInput: (v) => {
        // back at what it falls back on (a per-country will: will.default's value): no override
        const fallback = a.group === "will-eu" && a.name !== "will.default" ? (S.overrides["will.default"] ?? a.value) : a.value;
        if (Math.abs(v - fallback) < 1e-12) delete S.overrides[a.name]; else S.overrides[a.name] = v;
        showWillScenario(willScenarioShown());
        scheduleUpdate();
      },
    });
    (a.group === "will-eu" ? euBox : box).append(block);
  }
  const hz = $("horizon");
  hz.value = S.horizon ?? D.meta.default_horizon;
  $("horizon-out").textContent = `${hz.value} yr`;
}

function syncAssumptionInputs() {
  for (const a of D.meta.assumptions) {
    const input = $(`assume-${a.name}`);
    if (!input) continue;
    const v = assumptionValue(a);
    input.value = v;
    $(`assume-${a.name}-out`).textContent = fmtParam(a.unit, v);
  }
  const master = D.meta.assumptions.find((x) => x.name === "will.default");
  if (master && $("will-europe")) {
    $("will-europe").value = assumptionValue(master);
    $("will-europe-out").textContent = fmtParam("probability", assumptionValue(master));
  }
  showWillScenario(willScenarioShown());
}

/* Named will scenarios (GET /api/meta → will_scenarios): choosing one sets its
 * will values as overrides (the other will overrides go); "pooled" drops every
 * will override, so will is sampled again. Which one the state sets is the
 * server's answer (/api/compare → will_scenario). */
function renderWillScenarios() {
  const sel = $("will-scenario");
  sel.replaceChildren(el("option", { value: "" }, "pooled (will sampled)"),
    ...D.meta.will_scenarios.map((sc) => el("option", { value: sc.id }, sc.title)),
    el("option", { value: "custom", disabled: true }, "your own will values"));
  showWillScenario(willScenarioShown());
}

function willOverrides(overrides) { return Object.keys(overrides).filter((k) => k.startsWith(WILL)); }
function sameOverrides(a, b) {
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => b[k] === a[k]);
}

// The scenario the selector shows: the server's answer for the state it answered, else "custom" or pooled.
function willScenarioShown() {
  const mine = willOverrides(S.overrides);
  if (!mine.length) return "";
  if (D.last && sameOverrides(D.last.current.overrides, S.overrides) && D.last.will_scenario) return D.last.will_scenario;
  const sc = D.meta.will_scenarios.find((x) => x.id === $("will-scenario").value);
  return sc && mine.length === Object.keys(sc.set).length && mine.every((k) => sc.set[k] === S.overrides[k]) ? sc.id : "custom";
}

function showWillScenario(sid) {
  $("will-scenario").value = sid;
  const sc = D.meta.will_scenarios.find((x) => x.id === sid);
  const sets = (o) => Object.entries(o).map(([k, v]) => `${k} = ${fmtParam("probability", v)}`).join(", ");
  $("will-scenario-about").textContent = sc ? `${sc.description} Sets ${sets(sc.set)} (${sc.option}).`
    : sid === "custom" ? `Your own will values: ${sets(Object.fromEntries(willOverrides(S.overrides).map((k) => [k, S.overrides[k]])))}.`
      : "Will is sampled over its range (the fulfilment record), as in every range shown.";
}

function chooseWillScenario(sid) {
  for (const k of willOverrides(S.overrides)) delete S.overrides[k];
  const sc = D.meta.will_scenarios.find((x) => x.id === sid);
  if (sc) Object.assign(S.overrides, sc.set);
  syncAssumptionInputs();
  showWillScenario(sc ? sc.id : "");
  renderParams();
  scheduleUpdate();
}

function infoButton(name) {
  return el("button", { class: "info", type: "button", title: `Value, unit and source of ${name}`, "data-param": name, onclick: (e) => { e.preventDefault(); showParameter(name); } }, "i");
}

/* ------------------------------------------------------------ drawer */
function openDrawer(...kids) {
  $("drawer-body").replaceChildren(...kids);
  $("drawer").hidden = false;
}
function refList(refs) {
  return el("ul", {}, ...refs.map((r) => el("li", {}, `${r.publisher} (${r.year}), `, el("em", {}, r.title), r.url ? el("span", {}, " — ", el("a", { href: r.url, target: "_blank", rel: "noopener" }, "link")) : null,
    r.doi ? ` doi:${r.doi}` : "", r.grade ? el("span", { class: "pid" }, ` [${r.grade}]`) : null, r.note ? el("div", { class: "caption" }, r.note) : null)));
}

async function showParameter(name) {
  let p = D.paramByName[name];
  if (!p) { try { p = await api(`/api/parameters/${encodeURIComponent(name)}`); } catch (e) { status(e.message, true); return; } }
  const cur = S.overrides[name] ?? p.value;
  const input = el("input", { type: "text", value: String(cur), size: 14, "aria-label": `value of ${name}` });
  const set = el("button", { type: "button", onclick: () => {
    const v = parseFloat(input.value);
    if (!Number.isFinite(v)) { status(`${name}: a number, got '${input.value}'`, true); return; }
    S.overrides[name] = v;
    syncAssumptionInputs();
    renderParams();
    scheduleUpdate();
  } }, "Set");
  const reset = el("button", { type: "button", onclick: () => { delete S.overrides[name]; input.value = String(p.value); syncAssumptionInputs(); renderParams(); scheduleUpdate(); } }, "Reset");
  const u = p.uncertainty;
  openDrawer(
    el("h2", {}, name),
    el("p", {}, p.description),
    el("dl", {},
      el("dt", {}, "value"), el("dd", { "data-testid": "drawer-value" }, `${fmtParam(p.unit, p.value)} (${p.value})`, S.overrides[name] !== undefined ? el("strong", {}, ` — you set ${S.overrides[name]}`) : null),
      el("dt", {}, "unit"), el("dd", { "data-testid": "drawer-unit" }, p.unit),
      el("dt", {}, "as of"), el("dd", {}, p.date),
      el("dt", {}, "sub-model"), el("dd", {}, p.group || ""),
      el("dt", {}, "range"), el("dd", {}, u ? `${u.low} – ${u.high} (${u.distribution})` : "fixed (no range across futures)"),
      el("dt", {}, "basis"), el("dd", { "data-testid": "drawer-basis", "data-basis": p.basis || "" }, basisText(p.basis)),
    ),
    el("div", { class: "set-row" }, input, set, reset),
    p.basis === "calibrated" ? el("div", { id: "drawer-calibration" }, el("h3", {}, "Fitted to"), el("p", { class: "hint" }, "loading the calibration targets…")) : null,
    el("h3", {}, "Sources"), refList(p.references),
    u ? el("div", {}, el("h3", {}, "Why this range"), el("p", {}, u.rationale), refList(u.references)) : null,
  );
  if (p.basis === "calibrated") renderCalibrationTargets(name, p);
}

function basisText(basis) {
  if (!basis) return "–";
  return (D.meta.basis || {})[basis] || basis;
}
// How a reader sees a basis: "judgement (anchored)" for anchored.
function basisLabel(basis) { return (D.meta.basis_labels || {})[basis] || basis; }

// The published targets a calibrated parameter was fitted to (GET /api/calibration, fetched once).
async function renderCalibrationTargets(name, p) {
  try {
    if (!D.calibration) D.calibration = await api("/api/calibration");
  } catch (e) {
    const box = $("drawer-calibration");
    if (box) box.replaceChildren(el("h3", {}, "Fitted to"), el("p", { class: "hint" }, `calibration targets: ${e.message}`));
    return;
  }
  const box = $("drawer-calibration");
  if (!box || $("drawer-body").querySelector("h2").textContent !== name) return;  // the drawer moved on
  const ids = (p.calibration && p.calibration.targets) || D.calibration.by_parameter[p.template || p.name] || [];
  const byId = Object.fromEntries(D.calibration.targets.map((t) => [t.id, t]));
  const items = ids.map((id) => {
    const t = byId[id];
    if (!t) return el("li", { "data-testid": `drawer-target-${id}` }, `${id}: not in data/calibration.yaml`);
    return el("li", { "data-testid": `drawer-target-${id}`, "data-pass": String(t.pass) },
      el("div", {}, t.title),
      el("div", { class: "figures" }, `published ${t.display.published} (band ${t.display.band}) · foedus ${t.display.foedus} · `,
        el("span", { class: t.pass ? "pass" : "fail" }, t.pass ? "in band" : "outside the band")),
      el("div", { class: "pid" }, `${id} — ${t.sources.join(", ")} (${t.grade})`));
  });
  const s = D.calibration.sample;
  box.replaceChildren(el("h3", {}, "Fitted to"),
    el("p", { class: "hint" }, `Published results this parameter was fitted to (foedus calibrate)${p.calibration && p.calibration.fitted ? `, on ${p.calibration.fitted}` : ""}. foedus: mean or median over ${s.futures.toLocaleString("en-US")} futures with the shipped parameters.`),
    el("ul", { class: "targets" }, ...items));
}

async function showPackage(pid) {
  let d;
  try { d = await api(`/api/packages/${encodeURIComponent(pid)}`); } catch (e) { status(e.message, true); return; }
  const rows = d.package.commitments.map((c) => el("tr", {},
    el("td", {}, c.guarantor), el("td", {}, c.kind.replaceAll("_", " ")), el("td", {}, c.legal_form.replaceAll("_", " ")),
    el("td", {}, (c.posture || "").replaceAll("_", " ")), el("td", { class: "num" }, c.troops ? fmtTroops(c.troops) : ""), el("td", { class: "num" }, c.usd_per_year ? fmtBn(c.usd_per_year) : "")));
  openDrawer(el("h2", {}, d.title), el("p", { class: "pid" }, `${d.id} — Kyiv: ${d.kyiv_position} — ${d.origin}`), el("p", {}, d.rationale),
    el("h3", {}, "Commitments"),
    el("table", { class: "params" }, el("thead", {}, el("tr", {}, ...["guarantor", "kind", "legal form", "posture", "troops", "USD/yr"].map((h) => el("th", {}, h)))), el("tbody", {}, ...rows)),
    el("h3", {}, "Sources"), refList(d.sources));
}

function showMetric(metric) {
  const m = D.meta.metrics[metric] || {};
  const dir = m.direction > 0 ? "higher is better" : m.direction < 0 ? "lower is better" : "neither higher nor lower is better in itself";
  openDrawer(el("h2", {}, m.label || metric), el("p", { class: "pid" }, metric), el("p", {}, m.description || ""), el("p", {}, `Unit: ${m.kind}; ${dir}.`),
    el("p", { class: "caption" }, "A model estimate, not a prediction. The equations and their sources are in the model document (docs/model.md); every parameter is listed below the charts."));
}

/* ------------------------------------------------------------ rendering */
function renderCompare(res) {
  const pinned = D.pinned && D.pinned.packages.join(",") === res.packages.join(",") ? D.pinned : null;
  renderPinNote(pinned);
  renderSummary(res, pinned);
  renderSummaryRobust(D.lastExplore);
  renderTable(res, pinned);
  renderWorth(res);
  renderMetricCharts(res);
  renderGuarantorLever();
  renderReproduce(res.reproduce, D.lastExplore && D.lastExplore.reproduce);
  showWillScenario(willScenarioShown());
  markSensitivityStale();
  $("horizon-note").textContent = `central values, horizon ${res.horizon_years} years`;
  $("summary-note").textContent = `deterrence against cost, with approval; horizon ${res.horizon_years} years`;
}

function direction(metric) { return (D.meta.metrics[metric] || {}).direction || 0; }

// An arrow from `b` to `c`, coloured by the metric's direction (green better, red worse).
function moved(m, c, b) {
  if (c === null || b === null || c === undefined || b === undefined || Math.abs(c - b) <= 1e-9 * Math.max(1, Math.abs(b))) return el("span", {}, "");
  const up = c > b, dir = direction(m);
  return el("span", { class: dir === 0 ? "" : (up === dir > 0 ? "up-good" : "up-bad") }, up ? " ▲" : " ▼");
}

/* The pinned state in words: what differs from the current one. */
function describeState(st) {
  const parts = [];
  const as = Object.entries(st.as || {}).filter(([pid]) => S.packages.includes(pid));
  if (as.length) parts.push(as.map(([pid, b]) => `${b} (the base package) in place of the design ${pid}`).join(", "));
  const o = Object.entries(st.overrides || {});
  parts.push(o.length ? o.map(([k, v]) => `${k} = ${+v.toPrecision(4)}`).join(", ") : "default assumptions");
  if (st.horizon !== null && st.horizon !== undefined) parts.push(`horizon ${st.horizon} yr`);
  const ed = Object.entries(st.edits || {}).filter(([pid, e]) => S.packages.includes(pid) && !isEmptyEdit(e));
  parts.push(ed.length ? `levers moved in ${ed.map(([pid]) => pid).join(", ")}` : "packages as shipped");
  return parts.join("; ");
}

function renderPinNote(pinned) {
  const note = $("pin-note");
  $("pin").textContent = S.pin ? "Unpin" : "Pin this state";
  $("pin").setAttribute("aria-pressed", S.pin ? "true" : "false");
  note.hidden = !S.pin;
  if (S.pin) note.replaceChildren(el("strong", {}, "Pinned: "), describeState(S.pin), el("br"), el("strong", {}, "Current: "), describeState({ overrides: S.overrides, edits: S.edits, horizon: S.horizon }),
    pinned ? "" : el("span", { class: "hint" }, " (updating…)"));
}

// The bottom line: per package its title, deterrence against cost with approval,
// each with its range and the best value marked (all from /api/compare's bottom_line).
function renderSummary(res, pinned) {
  const rows = res.bottom_line.current;
  const base = Object.fromEntries(res.baseline_display ? Object.entries(res.baseline_display) : []);
  const pin = pinned ? Object.fromEntries(pinned.bottom_line.current.map((r) => [r.id, r])) : null;
  const metrics = Object.keys(rows[0].values);
  const head = el("tr", {}, el("th", {}, "package"), ...metrics.map((m) => el("th", {}, el("span", { class: "metric-name", onclick: () => showMetric(m) }, labelOf(m)))));
  const body = [];
  rows.forEach((r, i) => {
    const cells = metrics.map((m) => {
      const v = r.values[m];
      const b = res.baseline.packages.find((p) => p.id === r.id).metrics[m];
      const pv = pin && pin[r.id] ? pin[r.id].values[m] : null;
      return el("td", { "data-label": labelOf(m) },
        el("div", { class: "cur" + (v.best ? " best" : ""), "data-testid": `bl-${r.id}-${m}`, "data-value": v.value === null ? "" : String(v.value), "data-best": String(v.best),
          title: v.best ? "best central value in this column among the packages that meet every threshold" : null }, res.display[r.id][m], v.best ? " ★" : ""),
        v.p5 !== null ? el("div", { class: "rng", "data-testid": `bl-range-${r.id}-${m}`, "data-p5": String(v.p5), "data-p95": String(v.p95), title: "5th–95th percentile over futures" }, res.range_display[r.id][m]) : null,
        m === D.meta.cost_split[0] ? costSplit(res, r.id) : null,
        pv ? el("div", { class: "pinv", "data-testid": `bl-pin-${r.id}-${m}`, "data-value": pv.value === null ? "" : String(pv.value) }, "pinned ", pinned.display[r.id][m], moved(m, v.value, pv.value)) : null,
        el("div", { class: "basev" }, "base ", base[r.id][m], moved(m, v.value, b)));
    });
    body.push(el("tr", { class: "bl-row" + (r.id === S.focus ? " focus" : ""), "data-package": r.id },
      el("td", { class: "bl-title" }, el("span", { class: "num-badge" }, String(i + 1)), " ", el("strong", { "data-testid": `bl-title-${r.id}` }, r.title),
        el("div", { class: "pid" }, r.id, res.edited.includes(r.id) ? " (edited)" : "", ` · Kyiv: ${r.kyiv_position.replaceAll("_", " ")}`)),
      ...cells));
    body.push(el("tr", { class: "bl-sentence-row" }, el("td", { colspan: String(metrics.length + 1), class: "bl-sentence", "data-testid": `bl-sentence-${r.id}` }, r.sentence,
      pin && pin[r.id] && pin[r.id].sentence !== r.sentence ? el("div", { class: "pinv" }, "Pinned: ", pin[r.id].sentence) : null)));
  });
  $("summary-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  $("summary-caption").textContent = `${BEST_NOTE} Below each value, its 5th–95th percentile over ${rangeNote(res) || "futures"}; under the cost per year, what it is made of: the guarantee itself and the aid`
    + (pinned ? "; then the pinned value (arrow: current against pinned)" : "") + "; then the baseline (shipped package, default assumptions). The sentences are generated from the numbers. Model estimates, not predictions.";
  renderSummaryChart(res, pinned);
}

// Under a cost per year: what it is made of, the guarantee itself and the aid (from the API).
function costSplit(res, pid) {
  const [, own, aid] = D.meta.cost_split;
  const p = res.current.packages.find((x) => x.id === pid);
  if (!p || p.metrics[own] === undefined) return null;
  return el("div", { class: "split", "data-testid": `cost-split-${pid}`, "data-guarantee": String(p.metrics[own]), "data-aid": String(p.metrics[aid]),
    title: `${labelOf(own)}; ${labelOf(aid).toLowerCase()}` }, `guarantee ${res.display[pid][own]} · aid ${res.display[pid][aid]}`);
}

const BEST_NOTE = "★ the best central value in its column among the packages that meet every threshold (none where the best is tied at the precision shown, or lies below what the evidence resolves).";

function renderSummaryChart(res, pinned) {
  const x = "total_cost_usd_per_year", y = "attack_probability";
  const sets = [["baseline", res.bottom_line.baseline, COLORS.base]];
  if (pinned) sets.push(["pinned", pinned.bottom_line.current, COLORS.pin]);
  sets.push(["current", res.bottom_line.current, COLORS.cur]);
  const order = Object.fromEntries(res.bottom_line.current.map((r, i) => [r.id, i + 1]));
  const k = scaleFor(x);
  const traces = sets.map(([name, rows, color]) => ({
    type: "scatter", mode: name === "current" ? "markers+text" : "markers", name,
    x: rows.map((r) => r.values[x].value * k), y: rows.map((r) => r.values[y].value),
    text: rows.map((r) => String(order[r.id])), textposition: "top right", textfont: { size: 11, color },
    error_x: { type: "data", symmetric: false, array: rows.map((r) => (r.values[x].p95 ?? r.values[x].value) * k - r.values[x].value * k),
      arrayminus: rows.map((r) => r.values[x].value * k - (r.values[x].p5 ?? r.values[x].value) * k), color, thickness: 1, width: 3 },
    error_y: { type: "data", symmetric: false, array: rows.map((r) => (r.values[y].p95 ?? r.values[y].value) - r.values[y].value),
      arrayminus: rows.map((r) => r.values[y].value - (r.values[y].p5 ?? r.values[y].value)), color, thickness: 1, width: 3 },
    marker: { color, size: name === "current" ? 10 : 8, symbol: name === "baseline" ? "circle-open" : name === "pinned" ? "diamond" : "circle", line: { width: 2, color } },
    customdata: rows.map((r) => [r.title, (100 * r.values.approval_probability.value).toFixed(1), splitText(name === "baseline" ? res.baseline_display : name === "pinned" ? pinned.display : res.display, r.id)]),
    hovertemplate: `%{customdata[0]}<br>attack %{y:.1%}, cost $%{x:.1f} bn/yr (%{customdata[2]}), approved %{customdata[1]}%<extra>${name}</extra>`,
  }));
  Plotly.react("summary-chart", traces, barLayout(`${labelOf(y)} against ${labelOf(x).toLowerCase()}`, y, {
    xaxis: { ...axisFor(x), title: { text: `${labelOf(x)} ($ bn)`, font: { size: 10 } }, gridcolor: "#eef0f3" },
    yaxis: { ...axisFor(y), title: { text: labelOf(y), font: { size: 10 } }, gridcolor: "#eef0f3" }, margin: { l: 56, r: 12, t: 50, b: 46 } }), PLOTLY_CONFIG);
}

function splitText(display, pid) {
  const [, own, aid] = D.meta.cost_split;
  const d = display[pid] || {};
  return `guarantee ${d[own]}, aid ${d[aid]}`;
}

/* ------------------------------------------------------------ views */
const VIEW_PANELS = { summary: "view-summary", table: "comparison", scenarios: "view-scenarios", sensitivity: "view-sensitivity" };

// Show one of the views (bottom line, side-by-side table, sensitivity); the others stay one click away.
function setView(v, write = true) {
  S.view = VIEWS.includes(v) ? v : "summary";
  for (const k of VIEWS) {
    const on = k === S.view;
    $(VIEW_PANELS[k]).hidden = !on;
    const tab = $(`tab-${k}`);
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.classList.toggle("active", on);
    tab.tabIndex = on ? 0 : -1;
  }
  if (write) writeHash();
  if (S.view === "summary" && D.last) Plotly.Plots.resize($("summary-chart"));  // drawn while hidden: no width
  if (S.view === "scenarios") runScenarios();
  if (S.view === "sensitivity") {
    renderSensControls();
    if (D.sens && D.sensKey === JSON.stringify(sensBody())) renderSensitivity();
    else runSensitivity();
  }
}

function togglePin() {
  S.pin = S.pin ? null : JSON.parse(JSON.stringify({ overrides: S.overrides, edits: S.edits, horizon: S.horizon }));
  D.pinned = null;
  scheduleUpdate();
}

/* ------------------------------------------------------------ by will scenario */
// Each package's attack probability in every named will scenario, beside the pooled
// value (POST /api/scenarios, asked only while this view is shown; the server caches it).
let scenCtl = null, scenTimer = null;
async function runScenarios() {
  const body = scenarioBody();
  const key = JSON.stringify(body);
  if (D.scen && D.scenKey === key) { renderScenarios(); return; }
  if (scenCtl && scenCtl.key === key) return;  // already asked
  if (scenCtl) scenCtl.abort();
  const ctl = scenCtl = new AbortController();
  ctl.key = key;
  clearTimeout(scenTimer);
  $("sc-progress").hidden = false;
  try {
    const res = await api("/api/scenarios", body, ctl.signal);
    if (ctl !== scenCtl) return;
    D.scen = res;
    D.scenKey = key;
    renderScenarios();
  } catch (err) {
    if (err.name === "AbortError" || ctl !== scenCtl) return;
    $("sc-message").textContent = `Could not compute the results per will scenario: ${err.message}`;
    if ((err.status === 429 || err.status === 503) && err.retryAfter) scenTimer = setTimeout(runScenarios, err.retryAfter * 1000);
  } finally {
    if (ctl === scenCtl) { $("sc-progress").hidden = true; scenCtl = null; document.body.dataset.scenDone = String(Date.now()); }
  }
}

function renderScenarios() {
  const res = D.scen;
  if (!res) return;
  const m = res.metrics[0];
  const cols = [{ id: "pooled", title: "Pooled", sub: "will sampled" },
    ...res.scenarios.map((sc) => ({ id: sc.id, title: sc.title, sub: Object.entries(sc.set).map(([k, v]) => `${WILL_SHORT[k] || k.slice(WILL.length)} ${fmtParam("probability", v)}`).join(" · "),
      about: `${sc.description} (${Object.entries(sc.set).map(([k, v]) => `${k} = ${v}`).join(", ")})` }))];
  const chosen = res.will_scenario || (res.set_aside.length ? null : "pooled");
  const head = el("tr", {}, el("th", {}, "package"), ...cols.map((c) => el("th", { class: c.id === chosen ? "chosen" : "", title: c.about || "will sampled over its range, as elsewhere on the page",
    "data-testid": `sc-head-${c.id}` }, c.title, el("div", { class: "basev" }, c.sub))));
  const cell = (pid, c) => {
    const v = c.id === "pooled" ? res.pooled[pid][m] : res.scenarios.find((x) => x.id === c.id).packages[pid][m];
    const d = res.display[pid][c.id][m];
    return el("td", { class: c.id === chosen ? "chosen" : "", "data-label": c.title },
      el("div", { class: "cur", "data-testid": `sc-${pid}-${c.id}`, "data-value": v.value === null ? "" : String(v.value), "data-p5": String(v.p5), "data-p95": String(v.p95) }, d.value),
      el("div", { class: "rng", title: "5th–95th percentile over futures" }, d.range));
  };
  const body = res.packages.map((pid) => el("tr", { "data-package": pid },
    el("td", { class: "bl-title" }, el("strong", {}, res.titles[pid] || pid), el("div", { class: "pid" }, pid, res.edited.includes(pid) ? " (edited)" : "")),
    ...cols.map((c) => cell(pid, c))));
  $("sc-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  const rg = res.ranges;
  $("sc-message").textContent = `${labelOf(m)} (${res.horizon_years} years); ranges over ${rg ? rg.futures.toLocaleString("en-US") : "the default"} sampled futures`
    + (rg ? ` (${rg.sampler.toUpperCase()}, seed ${rg.seed})` : "") + ". "
    + (res.set_aside.length ? `Your will settings (${res.set_aside.join(", ")}) are set aside here: each column fixes will itself. ` : "")
    + (Object.keys(res.overrides).length ? `Your other assumptions hold: ${Object.entries(res.overrides).map(([k, v]) => `${k} = ${+v.toPrecision(4)}`).join(", ")}.` : "Every other assumption at its default.");
  $("sc-scenarios").replaceChildren(el("ul", {}, ...res.scenarios.map((sc) => el("li", {}, el("strong", {}, sc.title), ` (${sc.option}): ${sc.description} `,
    el("button", { type: "button", class: "link", "data-testid": `sc-use-${sc.id}`, onclick: () => chooseWillScenario(sc.id) }, "use it")))));
  $("sc-reproduce").textContent = res.reproduce.cli;
}

/* ------------------------------------------------------------ sensitivity */
function sensPackage() { return S.sens.pkg && S.packages.includes(S.sens.pkg) ? S.sens.pkg : S.focus; }

// What /api/sensitivity is asked: the package with its lever edit, under the current assumptions.
function sensBody() {
  const pkg = sensPackage();
  const cfg = D.meta.sensitivity;
  const body = { package: pkg, overrides: S.overrides, metrics: cfg.metrics, n: S.sens.n || cfg.n };
  if (!isEmptyEdit(S.edits[pkg])) body.edit = S.edits[pkg];
  if (S.horizon !== null) body.horizon = S.horizon;
  return body;
}

function renderSensControls() {
  const cfg = D.meta.sensitivity;
  const sp = $("sens-package");
  sp.replaceChildren(...S.packages.map((pid) => el("option", { value: pid }, `${D.catalogue[pid] ? D.catalogue[pid].title : pid} (${pid})`)));
  sp.value = sensPackage();
  const sm = $("sens-metric");
  sm.replaceChildren(...cfg.metrics.map((m) => el("option", { value: m }, labelOf(m))));
  if (!cfg.metrics.includes(S.sens.metric)) S.sens.metric = cfg.metrics[0];
  sm.value = S.sens.metric;
  const sn = $("sens-n");
  sn.replaceChildren(...cfg.sizes.map((n) => el("option", { value: String(n) }, `${n.toLocaleString("en-US")} base samples`)));
  sn.value = String(S.sens.n || cfg.n);
}

// After a move elsewhere, a shown analysis no longer matches the state: say so (it is not rerun unasked).
function markSensitivityStale() {
  if (!D.sens || !D.meta) return;
  const stale = D.sensKey !== JSON.stringify(sensBody());
  $("view-sensitivity").classList.toggle("stale", stale);
  if (stale && S.view === "sensitivity") $("sens-message").textContent = "The levers or assumptions changed since this analysis: press Run to update it.";
}

let sensCtl = null;
async function runSensitivity() {
  const body = sensBody();
  const key = JSON.stringify(body);
  if (sensCtl) sensCtl.abort();
  const ctl = sensCtl = new AbortController();
  const t0 = performance.now();
  $("sens-progress").hidden = false;
  $("sens-run").disabled = true;
  const tick = () => { $("sens-progress-text").textContent = `Sobol' analysis of ${body.package}: ${body.n.toLocaleString("en-US")} base samples × (inputs + 2) model runs… ${((performance.now() - t0) / 1000).toFixed(1)} s`; };
  tick();
  const timer = setInterval(tick, 200);
  try {
    const res = await api("/api/sensitivity", body, ctl.signal);
    if (ctl !== sensCtl) return;
    D.sens = res;
    D.sensKey = key;
    $("view-sensitivity").classList.remove("stale");
    renderSensitivity();
  } catch (err) {
    if (err.name === "AbortError" || ctl !== sensCtl) return;
    $("sens-message").textContent = `Could not compute the sensitivity: ${err.message}`;
  } finally {
    clearInterval(timer);
    if (ctl === sensCtl) { $("sens-progress").hidden = true; $("sens-run").disabled = false; document.body.dataset.sensDone = String(Date.now()); }
  }
}

const SENS_SHOWN = 15;  // inputs drawn in the chart (the table lists all)

function renderSensitivity() {
  const res = D.sens;
  if (!res) return;
  const m = S.sens.metric;
  const rows = res.indices.filter((r) => r.output === m && r.ST !== null && Number.isFinite(r.ST)).sort((a, b) => b.ST - a.ST);
  const undefinedHere = !rows.length;
  $("sens-message").textContent = undefinedHere
    ? `${labelOf(m)} does not vary over these futures for ${res.package}: its indices are undefined.`
    : `${res.title} (${res.package}${res.edited ? ", edited" : ""}): ${labelOf(m).toLowerCase()} — ${res.evaluations.toLocaleString("en-US")} model runs `
      + `(${res.n.toLocaleString("en-US")} base samples, seed ${res.seed}) in ${(res.elapsed_ms / 1000).toFixed(1)} s.`
      + (res.fixed_by_overrides.length ? ` Fixed by your assumptions, not analysed: ${res.fixed_by_overrides.join(", ")}.` : "");
  const top = rows.slice(0, SENS_SHOWN).reverse();
  const basisColor = { evidence: "#1b7f3b", calibrated: "#1f5fa8", anchored: "#8a5fb0", judgement: "#b26a00" };
  Plotly.react("sens-chart", undefinedHere ? [] : [
    { type: "bar", orientation: "h", name: "S1 (alone)", y: top.map((r) => r.input), x: top.map((r) => r.S1), marker: { color: "#9bb3d6" },
      error_x: { type: "data", array: top.map((r) => r.S1_conf), thickness: 1, width: 2 }, hovertemplate: "%{y}: S1 %{x:.3f}<extra></extra>" },
    { type: "bar", orientation: "h", name: "ST (with interactions; colour: basis)", y: top.map((r) => r.input), x: top.map((r) => r.ST),
      marker: { color: top.map((r) => basisColor[r.basis] || "#555") },
      error_x: { type: "data", array: top.map((r) => r.ST_conf), thickness: 1, width: 2 },
      customdata: top.map((r) => basisLabel(r.basis)), hovertemplate: "%{y}: ST %{x:.3f} (%{customdata})<extra></extra>" },
  ], barLayout(`What drives ${labelOf(m).toLowerCase()}: top ${Math.min(SENS_SHOWN, rows.length)} inputs`, m, {
    barmode: "group", xaxis: { range: [0, 1.05], gridcolor: "#eef0f3", title: { text: "Sobol' index", font: { size: 10 } } },
    yaxis: { automargin: true, tickfont: { size: 10 } }, margin: { l: 10, r: 12, t: 50, b: 40 } }), PLOTLY_CONFIG);
  const head = el("tr", {}, ...["input", "basis", "S1", "ST"].map((h) => el("th", {}, h)));
  const fmtIdx = (v, c) => (v === null || !Number.isFinite(v) ? "–" : `${v.toFixed(3)} ± ${(c || 0).toFixed(3)}`);
  const body = rows.map((r) => el("tr", { "data-testid": `sens-row-${r.input}`, "data-st": String(r.ST), "data-s1": String(r.S1), onclick: () => showParameter(r.input) },
    el("td", {}, el("div", { class: "pname" }, r.input), aboutParam(r.input) ? el("div", { class: "hint" }, aboutParam(r.input)) : null),
    el("td", {}, el("span", { class: `basis basis-${r.basis}`, title: basisText(r.basis) }, r.basis ? basisLabel(r.basis) : "?")),
    el("td", { class: "num" }, fmtIdx(r.S1, r.S1_conf)), el("td", { class: "num" }, fmtIdx(r.ST, r.ST_conf))));
  $("sens-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  $("sens-reproduce").textContent = res.reproduce;
}

function renderTable(res, pinned) {
  const t = $("compare-table");
  const cur = Object.fromEntries(res.current.packages.map((p) => [p.id, p]));
  const base = Object.fromEntries(res.baseline.packages.map((p) => [p.id, p]));
  const pin = pinned ? Object.fromEntries(pinned.current.packages.map((p) => [p.id, p])) : null;
  const colClass = (pid) => (pid === S.focus ? "focus " : "") + (res.edited.includes(pid) ? "edited-col" : "");
  const headCell = (pid, extra = {}) => el("th", { class: colClass(pid), title: cur[pid].title, ...extra }, pid, res.edited.includes(pid) ? el("div", { class: "basev" }, "(edited)") : null);
  const thead = pin
    ? [el("tr", {}, el("th", { rowspan: "2" }, "metric"), ...res.packages.map((pid) => headCell(pid, { colspan: "2", class: colClass(pid) + " pair" }))),
      el("tr", {}, ...res.packages.flatMap((pid) => [el("th", { class: "pin-col", "data-testid": `pin-head-${pid}` }, "pinned"), el("th", { class: colClass(pid) }, "current")]))]
    : [el("tr", {}, el("th", {}, "metric"), ...res.packages.map((pid) => headCell(pid)))];
  const rows = D.meta.table_metrics.map((m) => el("tr", {},
    el("td", {}, el("span", { class: "metric-name", onclick: () => showMetric(m) }, labelOf(m))),
    ...res.packages.flatMap((pid) => {
      const c = cur[pid].metrics[m], b = base[pid].metrics[m];
      const r = (cur[pid].ranges || {})[m];
      const rtext = (res.range_display[pid] || {})[m];
      const current = el("td", { class: colClass(pid) },
        el("div", { class: "cur", "data-testid": `cell-${pid}-${m}`, "data-value": c === null ? "" : String(c) }, res.display[pid][m]),
        r && rtext ? el("div", { class: "rng", "data-testid": `range-${pid}-${m}`, "data-p5": String(r.p5), "data-p50": String(r.p50), "data-p95": String(r.p95),
          title: `5th–95th percentile over ${rangeNote(res)}` }, rtext) : null,
        pin ? el("div", { class: "basev" }, "vs pinned", moved(m, c, pin[pid].metrics[m])) : null,
        el("div", { class: "basev" }, "base ", res.baseline_display[pid][m], moved(m, c, b)));
      if (!pin) return [current];
      const pv = pin[pid].metrics[m], pr = (pin[pid].ranges || {})[m];
      return [el("td", { class: "pin-col" },
        el("div", { class: "cur", "data-testid": `pin-cell-${pid}-${m}`, "data-value": pv === null ? "" : String(pv) }, pinned.display[pid][m]),
        pr ? el("div", { class: "rng" }, pinned.range_display[pid][m]) : null), current];
    })));
  t.replaceChildren(el("thead", {}, ...thead), el("tbody", {}, ...rows));
  const rg = res.current.ranges;
  $("compare-caption").textContent = "Model estimates, not predictions. Each cell: current central value; " +
    (rg ? `below it in grey its range across futures (5th–95th percentile over ${rangeNote(res)}); ` : "") +
    (pin ? "beside it, in purple, the pinned state's value and range, and an arrow where the current one moved from it; " : "") +
    "then the baseline, with arrows where it moved (green better, red worse).";
}

function rangeNote(res) {
  const rg = res.current.ranges;
  return rg ? `${rg.futures.toLocaleString("en-US")} sampled futures (${rg.sampler.toUpperCase()}, seed ${rg.seed})` : "";
}

// Whose promise counts: per package, the attack probability without each guarantor (from the API, top first).
function worthRow(pid, g) {
  const d = g.display;
  const same = d.attack_probability_without === d.attack_probability;
  const num = (v) => (v === null || v === undefined ? "" : String(v));
  const part = (key, text) => el("span", { class: d[key] === d.attack_probability ? "part same" : "part" }, `${text} `, el("strong", {}, d[key]));
  return el("li", { class: same ? "same" : "", "data-testid": `worth-${pid}-${g.iso3}`, "data-value": num(g.attack_probability_without) },
    el("div", { class: "worth-line" }, el("span", { class: "who" }, `without ${g.name}`),
      el("span", { class: "val" }, `${d.attack_probability} → `, el("strong", {}, d.attack_probability_without))),
    el("div", { class: "sub parts", "data-testid": `worth-parts-${pid}-${g.iso3}`, "data-promises": num(g.attack_probability_without_promises), "data-aid": num(g.attack_probability_without_aid) },
      part("attack_probability_without_promises", "without its promises only"), " · ", part("attack_probability_without_aid", "without its aid only")),
    el("div", { class: "sub" }, `approval ${d.approval_probability} → ${d.approval_probability_without}`),
    el("div", { class: "sub detail", "data-testid": `worth-detail-${pid}-${g.iso3}`, "data-credibility": g.credibility === null ? "" : String(g.credibility) },
      `believed ${d.credibility} · delivers ${d.delivery} · costs ${d.cost_usd_per_year}/yr (${d.cost_pct_gdp})`));
}

// /api/compare lists the first guarantors of each package (worth) and says how many there are (worth_all);
// "all N guarantors" asks /api/compare/detail for the rest when it is opened.
function renderWorth(res) {
  const box = $("worth-list");
  const cards = res.packages.map((pid) => {
    const p = res.current.packages.find((x) => x.id === pid);
    const rows = res.worth[pid] || [];
    const all = res.worth_all[pid] || { count: rows.length, moves: false };
    const head = el("h3", {}, el("span", { class: "pid-name" }, pid), el("small", {}, `attack ${res.display[pid].attack_probability}`));
    if (!rows.length) return el("div", { class: "worth-card", "data-package": pid }, head, el("p", { class: "hint" }, "No guarantor: nothing to take away."));
    const rest = el("ol", { class: "worth-rows", start: String(rows.length + 1), "data-testid": `worth-rest-${pid}` });
    const more = all.count > rows.length
      ? el("details", { "data-testid": `worth-all-${pid}`, ontoggle: (e) => { if (e.target.open) showWorthRest(pid, rows.length, rest); } },
        el("summary", {}, `all ${all.count} guarantors`), rest)
      : null;
    return el("div", { class: "worth-card" + (pid === S.focus ? " focus" : ""), "data-package": pid, title: p ? p.title : pid },
      head,
      all.moves ? null : el("p", { class: "hint" }, "No single guarantor's absence changes the attack probability as shown."),
      el("ol", { class: "worth-rows" }, ...rows.map((g) => worthRow(pid, g))),
      more);
  });
  box.replaceChildren(...cards);
}
async function showWorthRest(pid, shown, list) {
  list.replaceChildren(el("li", { class: "hint" }, "loading…"));
  try {
    const res = await detailOf(pid);
    list.replaceChildren(...res.worth.slice(shown).map((g) => worthRow(pid, g)));
    list.dataset.loaded = "1";
  } catch (err) {
    list.replaceChildren(el("li", { class: "hint error" }, `could not load the guarantors: ${err.message}`));
  }
}

/* One package's detail (POST /api/compare/detail): its whole entry of the comparison, baseline and current (every
 * guarantor's figures and commitments), every guarantor of "whose promise counts". Asked for the package being
 * shaped after a comparison while "Who pays, who deploys" is on screen or its commitments are open (else when it
 * comes into view), for another package only when its "all N guarantors" is opened.
 * Answers are kept until the next comparison, so opening the same detail twice asks once. */
function detailBody(pid) {
  const body = { package: pid, overrides: S.overrides, edit: isEmptyEdit(S.edits[pid]) ? {} : S.edits[pid] };
  if (S.horizon !== null) body.horizon = S.horizon;
  return body;
}
async function detailOf(pid, signal) {
  const key = JSON.stringify(detailBody(pid));
  if (D.details.has(key)) return D.details.get(key);
  const res = await api("/api/compare/detail", detailBody(pid), signal);
  D.details.set(key, res);
  while (D.details.size > 32) D.details.delete(D.details.keys().next().value);
  return res;
}
let detailCtl = null, detailSeq = 0;
const onScreen = (e) => { const r = e.getBoundingClientRect(); return r.height > 0 && r.bottom > 0 && r.top < window.innerHeight; };
async function runDetail() {
  if (!S.focus) return;
  if (detailCtl) detailCtl.abort();
  detailCtl = new AbortController();
  const seq = ++detailSeq;
  D.detailStale = false;
  try {
    const res = await detailOf(S.focus, detailCtl.signal);
    if (seq !== detailSeq) return;
    D.detail = res;
    renderGuarantors(res);
    if ($("commitments-box").open) renderCommitments(res);
    document.body.dataset.detailDone = String(seq);
  } catch (err) {
    if (err.name === "AbortError") return;
    $("guarantor-title").textContent = `detail: ${err.message}`;
    if ($("commitments-box").open) $("commitments").textContent = `could not load the commitments: ${err.message}`;
    if (err.status === 429 && err.retryAfter) setTimeout(() => { if (seq === detailSeq) runDetail(); }, err.retryAfter * 1000);
  }
}
// The commitments of the package being shaped, one by one (each guarantor's, then those a group takes as one).
function renderCommitments(res) {
  const cur = res.current, show = res.element_display.current, lab = res.element_labels;
  const cols = Object.keys(lab);
  const row = (who, e, d, i) => el("tr", { "data-testid": `commitment-${who}-${i}` },
    el("td", {}, who === "collective" ? e.group : countryName(who)), el("td", {}, e.legal_form.replaceAll("_", " ")), el("td", {}, e.trigger.replaceAll("_", " ")),
    el("td", {}, e.kinds.map((k) => k.replaceAll("_", " ")).join(", ")),
    ...cols.map((m) => el("td", { class: "num", "data-metric": m, "data-value": e[m] === null ? "" : String(e[m]) }, d[m])));
  const rows = [
    ...cur.guarantors.flatMap((g) => g.elements.map((e, i) => row(g.iso3, e, show[g.iso3][i], i))),
    ...cur.collective.map((e, i) => row("collective", e, show.collective[i], i)),
  ];
  $("commitments-title").textContent = `${cur.title} (${res.package}${res.edited ? ", edited" : ""}): ${rows.length} commitments`;
  $("commitments").replaceChildren(el("table", { class: "params" },
    el("thead", {}, el("tr", {}, ...["guarantor", "legal form", "trigger", "kinds", ...cols.map((m) => lab[m])].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows)));
}
function openCommitments() {
  if ($("commitments-box").open) runDetail();  // from the answer kept since the last comparison, if there is one
}

function barLayout(title, metric, extra = {}) {
  return {
    title: { text: title, font: { size: 13 }, x: 0.01, xanchor: "left", y: 0.985, yref: "container", yanchor: "top" },
    margin: { l: 52, r: 8, t: 50, b: 62 }, barmode: "group", bargap: 0.25,
    legend: { orientation: "h", y: 1.0, yanchor: "bottom", x: 0, font: { size: 10 } },
    yaxis: { ...axisFor(metric), gridcolor: "#eef0f3" }, xaxis: { tickangle: -35, tickfont: { size: 10 } },
    font: { family: "system-ui, sans-serif", size: 11 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff", ...extra,
  };
}

function renderMetricCharts(res) {
  const box = $("metric-charts");
  if (box.children.length !== D.meta.chart_metrics.length) {
    box.replaceChildren(...D.meta.chart_metrics.map((m) => el("div", { class: "chart", id: `chart-${m}` })));
  }
  const ids = res.packages;
  const cur = Object.fromEntries(res.current.packages.map((p) => [p.id, p]));
  const base = Object.fromEntries(res.baseline.packages.map((p) => [p.id, p]));
  for (const m of D.meta.chart_metrics) {
    const k = scaleFor(m);
    const traces = [
      { type: "bar", name: "baseline", x: ids, y: ids.map((p) => base[p].metrics[m] * k), marker: { color: COLORS.base }, hovertemplate: "%{x}: %{y}<extra>baseline</extra>" },
      { type: "bar", name: "current", x: ids, y: ids.map((p) => cur[p].metrics[m] * k), marker: { color: ids.map((p) => (p === S.focus ? COLORS.cur2 : COLORS.cur)) },
        customdata: ids.map((p) => res.display[p][m]), hovertemplate: "%{x}: %{customdata}<extra>current</extra>" },
    ];
    Plotly.react(`chart-${m}`, traces, barLayout(labelOf(m), m), PLOTLY_CONFIG);
  }
}

/* Year by year (POST /api/by-year, after each comparison): the package being shaped, baseline against current,
 * one x value per year from the start year to the horizon. Only that package is asked for, so a move costs one
 * yearly evaluation (the server caches the baseline and every package it has seen). */
let yearsCtl = null, yearsSeq = 0;
function yearsBody() {
  const pid = S.focus;
  const body = { packages: [pid], overrides: S.overrides, edits: isEmptyEdit(S.edits[pid]) ? {} : { [pid]: S.edits[pid] } };
  if (S.horizon !== null) body.horizon = S.horizon;
  return body;
}
async function runYears() {
  if (!S.focus) return;
  if (yearsCtl) yearsCtl.abort();
  yearsCtl = new AbortController();
  const seq = ++yearsSeq;
  try {
    const res = await api("/api/by-year", yearsBody(), yearsCtl.signal);
    if (seq !== yearsSeq) return;
    D.years = res;
    renderYears(res);
    document.body.dataset.yearsDone = String(seq);
  } catch (err) {
    if (err.name === "AbortError") return;
    $("years-message").textContent = `year by year: ${err.message}`;
    if (err.status === 429 && err.retryAfter) setTimeout(() => { if (seq === yearsSeq) runYears(); }, err.retryAfter * 1000);
  }
}

function yearLayout(res, m) {
  return barLayout(res.labels[m], m, {
    margin: { l: 52, r: 8, t: 50, b: 40 },
    xaxis: { tickmode: "linear", dtick: 1, tickformat: "d", tickangle: -45, tickfont: { size: 10 }, gridcolor: "#f3f4f6" },
    hovermode: "x unified",
    legend: { orientation: "h", y: 1.0, yanchor: "bottom", x: 0, font: { size: 10 }, traceorder: "normal" },
  });
}

function renderYears(res) {
  const pid = res.packages[0];
  const cur = res.current.packages.find((p) => p.id === pid);
  const base = res.baseline.packages.find((p) => p.id === pid);
  if (!cur) return;
  $("years-title").textContent = `${cur.title} (${pid}), ${res.current.years[0]}–${res.current.years[res.current.years.length - 1]}`;
  const rng = res.current.ranges;
  $("years-message").textContent = rng ? `5th–95th percentile over ${rng.futures.toLocaleString("en-US")} sampled futures (${String(rng.sampler).toUpperCase()}, seed ${rng.seed}).` : "";
  const box = $("year-charts");
  if (box.children.length !== res.charts.length || [...box.children].some((c, i) => c.id !== `year-chart-${res.charts[i]}`)) {
    box.replaceChildren(...res.charts.map((m) => el("div", { class: "chart", id: `year-chart-${m}`, "data-testid": `year-chart-${m}` })));
  }
  const xc = res.current.years, xb = res.baseline.years;
  for (const m of res.charts) {
    const k = scaleFor(m);
    const scale = (vs) => vs.map((v) => (v === null || v === undefined ? null : v * k));
    const traces = [];
    const r = cur.ranges && cur.ranges[m];
    if (r) {
      traces.push({ type: "scatter", mode: "lines", name: "current p5", x: xc, y: scale(r.p5), line: { width: 0, color: COLORS.cur }, showlegend: false, hoverinfo: "skip" });
      traces.push({ type: "scatter", mode: "lines", name: "5–95%", x: xc, y: scale(r.p95), line: { width: 0, color: COLORS.cur },
        fill: "tonexty", fillcolor: "rgba(31,95,168,0.15)", hoverinfo: "skip" });
    }
    if (base) {
      traces.push({ type: "scatter", mode: "lines+markers", name: "baseline", x: xb, y: scale(base.metrics[m]), line: { color: COLORS.base, dash: "dash", width: 2 },
        marker: { color: COLORS.base, size: 5 }, customdata: res.baseline_display[pid][m], hovertemplate: "%{customdata}<extra>baseline</extra>" });
    }
    traces.push({ type: "scatter", mode: "lines+markers", name: "current", x: xc, y: scale(cur.metrics[m]), line: { color: COLORS.cur, width: 2.5 },
      marker: { color: COLORS.cur, size: 6 }, customdata: res.display[pid][m], hovertemplate: "%{customdata}<extra>current</extra>" });
    Plotly.react(`year-chart-${m}`, traces, yearLayout(res, m), PLOTLY_CONFIG);
  }
  const t = res.totals_display[pid], bt = base ? res.baseline_totals_display[pid] : null;
  const last = xc[xc.length - 1];
  const was = (k) => (bt && bt[k] !== t[k] ? ` (baseline ${bt[k]})` : "");
  $("years-totals").replaceChildren(
    el("strong", {}, `By ${last}: `),
    `cost ${t.cumulative_cost_usd}${was("cumulative_cost_usd")}, discounted ${t.discounted_cost_usd}${was("discounted_cost_usd")}; `
    + `attack by the end ${t.attack_probability}${was("attack_probability")} (the steady model: ${t.steady_attack_probability}); `
    + `peak cost ${t.peak_cost_usd_per_year} in ${cur.totals.peak_cost_year}.`);
}

// Who pays, who deploys: the package being shaped, from its detail (/api/compare/detail).
function renderGuarantors(res) {
  const pid = res.package;
  const cur = res.current, base = res.baseline;
  $("guarantor-title").textContent = `${cur.title} (${pid})`;
  const baseBy = Object.fromEntries((base ? base.guarantors : []).map((g) => [g.iso3, g]));
  const marks = D.meta.nato_marks;
  // cost, % GDP
  const byCost = [...cur.guarantors].filter((g) => (g.cost_usd_per_year || 0) > 0 || baseBy[g.iso3]).sort((a, b) => (b.cost_usd_per_year || 0) - (a.cost_usd_per_year || 0)).slice(0, 16);
  const gx = byCost.map((g) => g.iso3);
  const existing = gx.map((g) => res.defence_pct_gdp[g] ?? 0);
  const shapes = Object.entries(marks).map(([k, v]) => ({ type: "line", xref: "paper", x0: 0, x1: 1, y0: v, y1: v, line: { color: "#7a4b00", width: 1, dash: "dot" } }));
  const annotations = Object.entries(marks).map(([k, v]) => ({ xref: "paper", x: 1, y: v, xanchor: "right", yanchor: "bottom", showarrow: false, text: `${(100 * v).toFixed(1).replace(".0", "")} %`, font: { size: 10, color: "#7a4b00" } }));
  Plotly.react("cost-chart", [
    { type: "bar", name: "defence spending before the package", x: gx, y: existing, marker: { color: COLORS.existing }, hovertemplate: "%{x}: %{y:.2%} of GDP<extra>before</extra>" },
    { type: "bar", name: "package cost", x: gx, y: byCost.map((g) => g.cost_pct_gdp), marker: { color: COLORS.cur },
      customdata: byCost.map((g) => fmtBn(g.cost_usd_per_year || 0)), hovertemplate: "%{x}: +%{y:.2%} of GDP (%{customdata}/yr)<extra>package</extra>" },
    { type: "scatter", mode: "markers", name: "baseline total", x: gx, y: gx.map((g) => (baseBy[g] ? baseBy[g].total_defence_pct_gdp : null)),
      marker: { symbol: "diamond-open", size: 10, color: "#555", line: { width: 2 } }, hovertemplate: "%{x}: %{y:.2%}<extra>baseline</extra>" },
  ], barLayout("Cost per guarantor, % of GDP", "max_cost_pct_gdp", { barmode: "stack", shapes, annotations, margin: { l: 52, r: 8, t: 50, b: 50 } }), PLOTLY_CONFIG);
  // force generation
  const byPool = [...cur.guarantors].filter((g) => (g.troops_required_pool || 0) > 0 || (baseBy[g.iso3] && baseBy[g.iso3].troops_required_pool > 0))
    .sort((a, b) => (b.troops_required_pool || 0) - (a.troops_required_pool || 0)).slice(0, 16);
  const fx = byPool.map((g) => g.iso3);
  Plotly.react("force-chart", fx.length ? [
    { type: "bar", name: "deployed", x: fx, y: byPool.map((g) => g.troops_deployed), marker: { color: COLORS.cur } },
    { type: "bar", name: "pool needed", x: fx, y: byPool.map((g) => g.troops_required_pool), marker: { color: byPool.map((g) => (g.capacity_shortfall ? COLORS.short : "#6b9bd1")) } },
    { type: "bar", name: "deployable capacity", x: fx, y: byPool.map((g) => g.troops_available), marker: { color: COLORS.capacity, opacity: 0.55 } },
    { type: "scatter", mode: "markers", name: "baseline pool", x: fx, y: fx.map((g) => (baseBy[g] ? baseBy[g].troops_required_pool : 0)), marker: { symbol: "diamond-open", size: 10, color: "#555", line: { width: 2 } } },
  ] : [], barLayout(fx.length ? "Force generation per guarantor" : "Force generation: no troops in this package", "troops_deployed", { yaxis: { type: "log", dtick: 1, gridcolor: "#eef0f3", title: { text: "persons (log)", font: { size: 10 } } } }), PLOTLY_CONFIG);
}

function renderExplore(res) {
  const ids = res.packages;
  const cur = Object.fromEntries(res.robustness.map((r) => [r.id, r]));
  const base = res.baseline_robustness ? Object.fromEntries(res.baseline_robustness.map((r) => [r.id, r])) : null;
  const perTh = (r) => Object.entries(r.per_threshold).map(([k, v]) => `${k}: ${(100 * v).toFixed(0)}%`).join("<br>");
  const traces = [];
  if (base) traces.push({ type: "bar", name: "baseline", x: ids, y: ids.map((p) => base[p].satisficing), marker: { color: COLORS.base }, customdata: ids.map((p) => perTh(base[p])), hovertemplate: "%{x}: %{y:.0%}<br>%{customdata}<extra>baseline</extra>" });
  traces.push({ type: "bar", name: "current", x: ids, y: ids.map((p) => cur[p].satisficing), marker: { color: ids.map((p) => (p === S.focus ? COLORS.cur2 : COLORS.cur)) }, customdata: ids.map((p) => perTh(cur[p])), hovertemplate: "%{x}: %{y:.0%}<br>%{customdata}<extra>current</extra>" });
  Plotly.react("satisficing-chart", traces, barLayout(`Meets all thresholds (${res.n_futures.toLocaleString("en-US")} futures)`, "attack_probability", { yaxis: { tickformat: ".0%", range: [0, 1.05], gridcolor: "#eef0f3" } }), PLOTLY_CONFIG);

  const m = S.pctMetric;
  const k = scaleFor(m);
  const boxTrace = (recs, name, color) => ({
    type: "box", name, x: ids, marker: { color }, line: { color },
    q1: ids.map((p) => recs[p].percentiles[m].p25 * k), median: ids.map((p) => recs[p].percentiles[m].p50 * k), q3: ids.map((p) => recs[p].percentiles[m].p75 * k),
    lowerfence: ids.map((p) => recs[p].percentiles[m].p5 * k), upperfence: ids.map((p) => recs[p].percentiles[m].p95 * k), boxpoints: false, hoverinfo: "y",
  });
  const pt = [];
  if (base) pt.push(boxTrace(base, "baseline", COLORS.base));
  pt.push(boxTrace(cur, "current", COLORS.cur));
  if (D.last) {
    const c = Object.fromEntries(D.last.current.packages.map((p) => [p.id, p]));
    if (c[ids[0]] && c[ids[0]].metrics[m] !== undefined) {
      pt.push({ type: "scatter", mode: "markers", name: "central value", x: ids, y: ids.map((p) => (c[p] ? c[p].metrics[m] * k : null)), marker: { symbol: "diamond", size: 9, color: COLORS.cur2 } });
    }
  }
  Plotly.react("percentile-chart", pt, barLayout(`${labelOf(m)} across futures`, m, { boxmode: "group" }), PLOTLY_CONFIG);

  if (res.failure_box) renderBoxSection(res.failure_box);
  if (D.last) renderReproduce(D.last.reproduce, res.reproduce);
  renderSummaryRobust(res);
}

// Under the bottom line: how often each package meets every threshold across futures (from /api/explore),
// and why that ranking can differ from the ranking by central values.
function renderSummaryRobust(res) {
  const box = $("summary-robust");
  if (!res || !D.last || res.packages.join(",") !== D.last.packages.join(",")) { box.replaceChildren(); return; }
  const order = [...res.robustness].sort((a, b) => (b.satisficing ?? -1) - (a.satisficing ?? -1));
  const title = (pid) => (D.catalogue[pid] ? D.catalogue[pid].title : pid);
  const central = D.last.bottom_line.current.filter((r) => r.values.attack_probability.best).map((r) => r.id);
  box.replaceChildren(
    el("strong", {}, `Meets every threshold (${res.threshold_labels.join("; ")}) across ${res.n_futures.toLocaleString("en-US")} futures: `),
    ...order.flatMap((r, i) => [i ? ", " : "", el("span", { "data-testid": `bl-robust-${r.id}`, "data-value": String(r.satisficing) }, `${title(r.id)} ${(100 * r.satisficing).toFixed(0)}%`)]),
    ". ",
    order.length && central.length && !central.includes(order[0].id)
      ? `The lowest central attack risk (${central.join(", ")}) and the most robust package (${order[0].id}) differ: a central value is one future, at the central assumptions; `
        + "this share counts the futures, over the whole range of the uncertain inputs, in which a package meets every threshold at once (Robustness, below)."
      : "A central value is one future, at the central assumptions; this share counts the futures, over the whole range of the uncertain inputs, in which a package meets every threshold at once (Robustness, below).");
}

function renderBoxSection(box) {
  $("box-package").textContent = S.focus || "";
  $("box-message").textContent = box ? box.message : "choose a package to shape above";
  $("box-message").dataset.status = box ? box.status : "";
  if (box && box.status === "box") {
    D.boxIndex = box.chosen;
    renderBox(box);
  } else {
    $("box-rule").textContent = "";
    Plotly.purge("box-chart");
    Plotly.purge("trajectory-chart");
    $("box-chart").style.height = "";
  }
}

// One box of the PRIM trajectory (the chosen one, or one clicked on the trajectory chart).
function renderBox(box) {
  const sel = box.trajectory[D.boxIndex] || box.trajectory[box.chosen];
  const r = sel.restricted;
  const chosen = D.boxIndex === box.chosen;
  const head = chosen ? "Chosen box" : `Box ${D.boxIndex} of the trajectory`;
  const side = (x) => {
    const lo = +x.low.toPrecision(3), hi = +x.high.toPrecision(3);
    if (x.low <= x.data_low) return `${x.name} ≤ ${hi}`;
    if (x.high >= x.data_high) return `${x.name} ≥ ${lo}`;
    return `${lo} ≤ ${x.name} ≤ ${hi}`;
  };
  const shown = r.slice(0, 6).map(side).join(" and ");
  const more = r.length > 6 ? ` … and ${r.length - 6} more (chart). An earlier point on the trajectory gives a simpler box.` : "";
  $("box-rule").textContent = r.length ? `${head}, most restrictive first: ${shown}${more}` : "The first box holds all futures (no restriction).";
  $("box-rule").title = sel.rule;
  const y = r.map((x) => x.title === x.name ? x.name : `${x.title}`);
  const frac = (x, v) => (x.data_high > x.data_low ? (v - x.data_low) / (x.data_high - x.data_low) : 0);
  const height = Math.max(180, 70 + 26 * r.length);
  $("box-chart").style.height = `${height}px`;
  Plotly.react("box-chart", [
    { type: "bar", orientation: "h", name: "sampled range", y, x: r.map(() => 1), base: r.map(() => 0), marker: { color: "#eef0f3" }, hoverinfo: "skip" },
    { type: "bar", orientation: "h", name: "failure box", y, base: r.map((x) => frac(x, x.low)), x: r.map((x) => frac(x, x.high) - frac(x, x.low)), marker: { color: COLORS.short, opacity: 0.75 },
      text: r.map((x) => `${+x.low.toPrecision(3)} – ${+x.high.toPrecision(3)}`), textposition: "inside", insidetextanchor: "middle",
      customdata: r.map((x) => `${x.name}: ${+x.low.toPrecision(3)} – ${+x.high.toPrecision(3)} of ${+x.data_low.toPrecision(3)} – ${+x.data_high.toPrecision(3)}`), hovertemplate: "%{customdata}<extra></extra>" },
  ], { margin: { l: 230, r: 10, t: 30, b: 40 }, barmode: "overlay", showlegend: false, height,
    title: { text: `coverage ${(100 * sel.coverage).toFixed(0)} %, density ${(100 * sel.density).toFixed(0)} %, ${r.length} inputs restricted`, font: { size: 12 } },
    xaxis: { range: [0, 1], tickformat: ".0%", title: { text: "position within the sampled range", font: { size: 10 } } }, yaxis: { automargin: true, autorange: "reversed" }, font: { size: 11 } }, PLOTLY_CONFIG);
  const tr = box.trajectory;
  Plotly.react("trajectory-chart", [
    { type: "scatter", mode: "lines+markers", x: tr.map((b) => b.coverage), y: tr.map((b) => b.density), marker: { color: tr.map((b) => b.n_restricted), colorscale: "Blues", size: 8, showscale: false }, line: { color: "#9bb3d6" },
      customdata: tr.map((b, i) => [i, b.n_restricted]), hovertemplate: "box %{customdata[0]}: coverage %{x:.0%}, density %{y:.0%}, %{customdata[1]} inputs restricted<extra>click to show</extra>" },
    { type: "scatter", mode: "markers", x: [tr[box.chosen].coverage], y: [tr[box.chosen].density], marker: { size: 16, color: "rgba(0,0,0,0)", line: { color: COLORS.short, width: 2 } }, hoverinfo: "skip" },
    { type: "scatter", mode: "markers", x: [sel.coverage], y: [sel.density], marker: { size: 10, color: COLORS.cur2 }, hoverinfo: "skip" },
  ], { margin: { l: 52, r: 10, t: 20, b: 40 }, showlegend: false, xaxis: { title: { text: "coverage", font: { size: 10 } }, tickformat: ".0%", range: [0, 1.05] },
    yaxis: { title: { text: "density", font: { size: 10 } }, tickformat: ".0%", range: [0, 1.05] }, font: { size: 11 } }, PLOTLY_CONFIG);
  const tc = $("trajectory-chart");
  if (!tc.dataset.wired) {
    tc.dataset.wired = "1";
    tc.on("plotly_click", (ev) => {
      const pt = ev.points && ev.points[0];
      if (!pt || pt.curveNumber !== 0 || !D.lastExplore || !D.lastExplore.failure_box) return;
      D.boxIndex = pt.pointIndex;
      renderBox(D.lastExplore.failure_box);
    });
  }
}

function renderReproduce(rep, exploreRep) {
  $("repro-cli").textContent = `# central values (the table and charts)\n${rep.cli}`
    + (rep.scenario ? `\n# ${rep.scenario.note}\n${rep.scenario.cli}` : "");
  $("repro-explore").textContent = exploreRep && exploreRep.explore_cli ? `# robustness across futures\n${exploreRep.explore_cli}` : "";
  $("repro-python").textContent = (exploreRep || rep).python;
  const box = $("repro-downloads");
  box.replaceChildren();
  if (rep.downloads.length) {
    box.append(el("p", { class: "hint" }, rep.note || ""));
    for (const d of rep.downloads) box.append(el("button", { type: "button", onclick: () => downloadPackage(d.id, d.file) }, `Download ${d.file}`), " ");
  }
}

/* ------------------------------------------------------------ parameters */
function renderParams() {
  const q = ($("param-search").value || "").toLowerCase();
  const basis = $("param-basis").value;
  const rows = D.params.filter((p) => (!basis || p.basis === basis) &&
    (!q || p.name.toLowerCase().includes(q) || p.description.toLowerCase().includes(q) || p.source.toLowerCase().includes(q)));
  const t = $("param-table");
  if (D.basisCounts) {
    const total = Object.values(D.basisCounts).reduce((a, b) => a + b, 0);
    $("basis-counts").textContent = `${total} parameters by basis: ` +
      Object.entries(D.basisCounts).map(([b, n]) => `${basisLabel(b)} ${n} (${total ? Math.round((100 * n) / total) : 0} %)`).join(", ") + ".";
  }
  t.replaceChildren(
    el("thead", {}, el("tr", {}, ...["parameter", "value", "unit", "range", "source"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((p) => {
      const ov = S.overrides[p.name];
      return el("tr", { class: ov !== undefined ? "overridden" : "", onclick: () => showParameter(p.name), "data-param-row": p.name },
        el("td", {}, p.name, p.basis ? el("span", { class: `basis basis-${p.basis}`, title: basisText(p.basis) }, basisLabel(p.basis)) : null),
        el("td", { class: "num" }, fmtParam(p.unit, ov ?? p.value), ov !== undefined ? el("div", { class: "basev" }, `default ${fmtParam(p.unit, p.value)}`) : null),
        el("td", {}, p.unit), el("td", { class: "num" }, p.uncertainty ? `${+p.uncertainty.low.toPrecision(3)} – ${+p.uncertainty.high.toPrecision(3)}` : "fixed"), el("td", {}, `${p.source}`));
    })));
}

/* ------------------------------------------------------------ design search */
// GET /api/designs lists the design files; POST /api/optimise runs foedus optimise on one (the server's
// DesignSearch) and adds each design on the front to the packages on offer. The chart draws the record as it
// comes: cost against robust deterrence, coloured by approval, the base as its own marker. Clicking a design
// selects it into the comparison with its base pinned beside it (pin.as).
async function initDesigns() {
  try {
    D.designs = await api("/api/designs");
  } catch (err) {
    $("ds-message").textContent = `Design files could not be listed: ${err.message}`;
    return;
  }
  const r = D.designs;
  const sel = $("ds-design");
  sel.replaceChildren(...r.designs.map((d) => el("option", { value: d.id }, d.title)));
  for (const k of ["futures", "population", "generations"]) {
    const inp = $(`ds-${k}`);
    inp.min = String(r.bounds[k][0]);
    inp.max = String(r.bounds[k][1]);
    inp.value = String(r.defaults[k]);
    inp.title = `${r.bounds[k][0].toLocaleString("en-US")} to ${r.bounds[k][1].toLocaleString("en-US")}`;
  }
  $("ds-run").disabled = !r.designs.length;
  if (!r.designs.length) $("ds-message").textContent = `No design files on this server (a designs folder beside the scenarios folder).`
    + (r.problems.length ? ` Not loaded: ${r.problems.join("; ")}` : "");
  sel.addEventListener("change", renderDesignAbout);
  $("ds-run").addEventListener("click", runDesignSearch);
  renderDesignAbout();
}

function renderDesignAbout() {
  const d = ((D.designs && D.designs.designs) || []).find((x) => x.id === $("ds-design").value);
  if (!d) { $("ds-about").textContent = ""; return; }
  $("ds-about").replaceChildren(d.question ? el("span", {}, d.question, " ") : "",
    el("span", {}, `Base: ${d.base_title} (${d.base}). Objectives: ${(d.objectives.length ? d.objectives : ["total_cost_usd_per_year", "attack_probability:p80"]).join(", ")}.`
      + (d.constraints.length ? ` Constraints: ${d.constraints.join("; ")}.` : "") + ` File: ${d.file}.`));
}

let dsCtl = null;
async function runDesignSearch() {
  const body = { design: $("ds-design").value, seed: parseInt($("ds-seed").value, 10) || 0, overrides: S.overrides };
  for (const k of ["futures", "population", "generations"]) body[k] = parseInt($(`ds-${k}`).value, 10);
  if (dsCtl) dsCtl.abort();
  const ctl = dsCtl = new AbortController();
  const t0 = performance.now();
  $("ds-progress").hidden = false;
  $("ds-run").disabled = true;
  $("ds-message").textContent = "";
  const tick = () => { $("ds-progress-text").textContent = `searching ${body.design}: up to ${(body.population * body.generations).toLocaleString("en-US")} designs, each over the same ${body.futures.toLocaleString("en-US")} futures… ${((performance.now() - t0) / 1000).toFixed(1)} s`; };
  tick();
  const timer = setInterval(tick, 200);
  try {
    const res = await api("/api/optimise", body, ctl.signal);
    if (ctl !== dsCtl) return;
    D.ds = res;
    D.dsChosen = null;
    // the designs (and a base that is no shipped package) are now on offer: refresh the package list
    const pk = await api("/api/packages");
    for (const p of pk.packages) { D.catalogue[p.id] = p; if (!D.order.includes(p.id)) D.order.push(p.id); }
    renderPicker();
    renderDesignSearch();
  } catch (err) {
    if (err.name === "AbortError" || ctl !== dsCtl) return;
    $("ds-message").textContent = `The design search did not run: ${err.message}` + ((err.status === 503 || err.status === 429) ? " (try again in a moment)" : "");
  } finally {
    clearInterval(timer);
    if (ctl === dsCtl) { $("ds-progress").hidden = true; $("ds-run").disabled = false; dsCtl = null; document.body.dataset.dsDone = String(Date.now()); }
  }
}

// The chart's axes, from the record: x the cost objective (else the central cost per year), y the first
// objective or constraint on the attack probability (else its central value).
function dsAxes(rec) {
  const terms = [...rec.objectives.map((o) => ({ key: o.term, label: o.label, kind: o.kind, from: "objectives" })),
    ...rec.constraints.map((c) => ({ key: c.text, label: c.label, kind: c.kind, from: "constraints", bound: c.value }))];
  const on = (m) => terms.find((t) => t.key.split(/[: ]/)[0] === m) || { key: m, label: `${labelOf(m)} (central)`, kind: (D.meta.metrics[m] || {}).kind, from: "summary" };
  const x = on("total_cost_usd_per_year"), y = on("attack_probability");
  const bound = rec.constraints.find((c) => c.op.startsWith("<") && c.text.startsWith(y.from === "summary" ? "attack_probability:central " : `${y.key.split(" <")[0]} <`));
  y.limit = bound ? bound.value : null;
  return { x, y };
}
function dsValue(member, axis) {
  if (axis.from === "summary") return member.summary[axis.key];
  if (axis.from === "objectives") return member.objectives[axis.key];
  return member.constraints[axis.key].value;
}
function fmtKind(kind, v) {
  if (v === null || v === undefined) return "–";
  if (kind === "usd") return fmtParam("usd_per_year", v);
  if (kind === "prob" || kind === "pct_gdp") return fmtParam("probability", v);
  return `${+v.toPrecision(4)}`;
}

function renderDesignSearch() {
  const rec = D.ds;
  if (!rec) return;
  const { x, y } = dsAxes(rec);
  const kx = x.kind === "usd" ? 1e-9 : 1, ky = y.kind === "usd" ? 1e-9 : 1;
  const s = rec.search, st = rec.settings;
  $("ds-message").textContent = `${rec.design.title}: ${s.candidates.toLocaleString("en-US")} designs evaluated on the same ${st.futures.toLocaleString("en-US")} futures (seed ${st.seed}), `
    + `${s.generations_run} generations of ${st.population}; ${s.feasible.toLocaleString("en-US")} meet every constraint; front: ${s.front_size} designs`
    + (s.shown < s.front_size ? `, ${s.shown} shown (spread along it) and added to the packages` : rec.front.length ? ", each added to the packages" : "")
    + ` (${(rec.elapsed_ms / 1000).toFixed(1)} s).`
    + (rec.base_note ? ` Note: ${rec.base_note}.` : "")
    + (rec.front.length ? "" : " No design meets every constraint: the chart shows the base only.");
  const hover = (m) => [m.id, m.described, fmtKind(x.kind, dsValue(m, x)), fmtKind(y.kind, dsValue(m, y)), fmtParam("probability", m.summary.approval_probability)];
  const tmpl = `%{customdata[0]}<br>%{customdata[1]}<br>${x.label}: %{customdata[2]}<br>${y.label}: %{customdata[3]}<br>approved and in force: %{customdata[4]}`;
  const ap = [...rec.front, rec.base].map((m) => m.summary.approval_probability);
  const traces = [
    { type: "scatter", mode: "markers", name: "designs on the front", x: rec.front.map((m) => dsValue(m, x) * kx), y: rec.front.map((m) => dsValue(m, y) * ky),
      marker: { size: 13, color: rec.front.map((m) => m.summary.approval_probability), colorscale: "Viridis", cmin: Math.min(...ap), cmax: Math.max(...ap) + 1e-9,
        line: { width: rec.front.map((m) => (m.id === D.dsChosen ? 3 : 1)), color: rec.front.map((m) => (m.id === D.dsChosen ? COLORS.pin : "#333")) },
        colorbar: { title: { text: "approval", side: "right", font: { size: 10 } }, tickformat: ".1%", thickness: 10, len: 0.8 } },
      customdata: rec.front.map(hover), hovertemplate: `${tmpl}<extra>design</extra>` },
    { type: "scatter", mode: "markers+text", name: `base: ${rec.base.id}`, x: [dsValue(rec.base, x) * kx], y: [dsValue(rec.base, y) * ky],
      text: [`base (${rec.base.id})`], textposition: rec.front.some((m) => dsValue(m, x) < dsValue(rec.base, x)) ? "top left" : "top right", textfont: { size: 11, color: "#111" },
      marker: { size: 15, symbol: "diamond", color: "#111", line: { width: 1, color: "#fff" } },
      customdata: [hover(rec.base)], hovertemplate: `${tmpl}<extra>base</extra>` },
  ];
  const shapes = y.limit !== null ? [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: y.limit * ky, y1: y.limit * ky, line: { dash: "dash", width: 1, color: COLORS.short } }] : [];
  $("ds-chart").hidden = false;
  $("ds-caption").hidden = false;
  Plotly.react("ds-chart", traces, barLayout(`${y.label} against ${x.label.toLowerCase()}`, y.key, {
    xaxis: { ...(x.kind === "usd" ? { ticksuffix: " bn", tickprefix: "$" } : x.kind === "prob" ? { tickformat: ".0%" } : {}), title: { text: x.label + (x.kind === "usd" ? " ($ bn)" : ""), font: { size: 10 } }, gridcolor: "#eef0f3" },
    yaxis: { ...(y.kind === "prob" ? { tickformat: ".0%" } : {}), title: { text: y.label, font: { size: 10 } }, gridcolor: "#eef0f3" },
    shapes, showlegend: false, hovermode: "closest", margin: { l: 56, r: 12, t: 40, b: 46 } }), PLOTLY_CONFIG);
  const gd = $("ds-chart");
  if (!gd.dataset.wired) {
    gd.dataset.wired = "1";
    gd.on("plotly_click", (ev) => {
      const pt = ev.points && ev.points[0];
      if (pt && pt.curveNumber === 0 && D.ds) chooseDesign(D.ds.front[pt.pointNumber].id);
    });
  }
  // the front as a table: the base first, then each design with what it changed
  const cons = rec.constraints;
  const head = el("tr", {}, ...["design", "what it changes", x.label, y.label, "approval", "constraints"].map((h) => el("th", {}, h)));
  const row = (m, isBase) => {
    const met = cons.filter((c) => m.constraints[c.text] && m.constraints[c.text].met).length;
    return el("tr", { class: (isBase ? "ds-base" : "") + (m.id === D.dsChosen ? " chosen" : ""), "data-testid": `ds-row-${m.id}` },
      el("td", {}, isBase ? el("span", {}, "base ", el("span", { class: "pid" }, m.id))
        : el("button", { type: "button", class: "link", "data-testid": `ds-choose-${m.id}`, title: "Compare this design with the base pinned beside it", onclick: () => chooseDesign(m.id) }, m.id)),
      el("td", { class: "described", "data-label": "what it changes" }, m.described),
      el("td", { "data-value": String(dsValue(m, x)), "data-label": x.label }, fmtKind(x.kind, dsValue(m, x))),
      el("td", { "data-value": String(dsValue(m, y)), "data-label": y.label }, fmtKind(y.kind, dsValue(m, y))),
      el("td", { "data-label": "approval" }, fmtParam("probability", m.summary.approval_probability)),
      el("td", { "data-label": "constraints", class: met === cons.length ? "met" : "unmet", title: cons.map((c) => `${c.text}: ${m.constraints[c.text] && m.constraints[c.text].met ? "met" : "not met"}`).join("\n") },
        cons.length ? `${met} of ${cons.length} met` : "none"));
  };
  $("ds-table").replaceChildren(el("thead", {}, head), el("tbody", {}, row(rec.base, true), ...rec.front.map((m) => row(m, false))));
  $("ds-reproduce-line").hidden = false;
  $("ds-reproduce").textContent = `${rec.reproduce} -o found/`;
}

// A design into the comparison (in place of any other design of this search), its base pinned beside it.
function chooseDesign(id) {
  const rec = D.ds;
  if (!rec || !D.catalogue[id]) { status(`${id} is not on this server any more: search again`, true); return; }
  const others = new Set(rec.front.map((m) => m.id));
  S.packages = [...S.packages.filter((pid) => !others.has(pid)), id];
  S.focus = id;
  delete S.edits[id];
  const base = rec.base_package;
  if (base) {
    const edits = JSON.parse(JSON.stringify(activeEdits()));
    S.pin = { overrides: { ...S.overrides }, edits, horizon: S.horizon, as: { [id]: base } };
  }
  D.pinned = null;
  D.dsChosen = id;
  renderPicker(); renderFocus(); renderLevers();
  renderDesignSearch();
  scheduleUpdate();
  status(base ? `comparing ${id} with its base ${base} pinned` : `comparing ${id}`);
  // keep the package file in this browser too, so a shared link can bring it back (as an upload's)
  for (const pid of [id, base]) {
    if (pid && D.catalogue[pid] && D.catalogue[pid].origin === "upload") api(`/api/packages/${encodeURIComponent(pid)}`).then((d) => storeUpload(pid, d.text)).catch(() => {});
  }
}

/* ------------------------------------------------------------ downloads */
function saveBlob(text, name, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}
async function downloadPackage(pid, file) {
  try {
    const r = await fetch(`/api/packages/${encodeURIComponent(pid)}/export`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ edit: S.edits[pid] || {} }) });
    if (!r.ok) throw new Error((await r.json()).detail);
    saveBlob(await r.text(), file || `${pid}-edited.yaml`, "application/yaml");
  } catch (e) { status(e.message, true); }
}
async function downloadReport() {
  status("building report…");
  try {
    const body = { ...scenarioBody(), n_futures: S.n, thresholds: thresholdList() };
    const r = await fetch("/api/report", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error((await r.json()).detail);
    saveBlob(await r.text(), "foedus-report.html", "text/html");
    status("report downloaded");
  } catch (e) { status(e.message, true); }
}

/* ------------------------------------------------------------ editor */
const UPLOADS_KEY = "foedus.uploads";
function storedUploads() { try { return JSON.parse(localStorage.getItem(UPLOADS_KEY) || "{}"); } catch (e) { return {}; } }
function storeUpload(id, text) {
  const u = storedUploads();
  u[id] = text;
  try { localStorage.setItem(UPLOADS_KEY, JSON.stringify(u)); } catch (e) { /* quota: the server copy still works */ }
}

function forgetUpload(id) {
  const u = storedUploads();
  delete u[id];
  try { localStorage.setItem(UPLOADS_KEY, JSON.stringify(u)); } catch (e) { /* ignore */ }
}

/* Deleting an uploaded package: asked in a dialog first (Cancel is the default). */
function confirmDelete(pid) {
  const p = D.catalogue[pid];
  const dlg = $("confirm-delete");
  $("confirm-delete-text").textContent = `Delete “${p.title}” (${pid}) from this server? Its file is removed from the server's workspace folder, `
    + "for everyone using this server, and links that name it will no longer open it. Download it first if you may need it again.";
  dlg.dataset.pid = pid;
  dlg.returnValue = "";
  dlg.showModal();
}

async function deletePackage(pid) {
  try {
    await api(`/api/packages/${encodeURIComponent(pid)}`, undefined, undefined, "DELETE");
  } catch (e) {
    if (e.status !== 404) { status(`not deleted: ${e.message}`, true); return; }
  }
  forgetUpload(pid);
  delete D.catalogue[pid];
  delete S.edits[pid];
  D.order = D.order.filter((x) => x !== pid);
  S.packages = S.packages.filter((x) => x !== pid);
  normaliseState();
  renderPicker(); renderFocus(); renderLevers();
  scheduleUpdate();
  status(`deleted ${pid}`);
}

function setupDelete() {
  const dlg = $("confirm-delete");
  $("confirm-delete-download").addEventListener("click", () => downloadPackage(dlg.dataset.pid, `${dlg.dataset.pid}.yaml`));
  dlg.addEventListener("close", () => {
    if (dlg.returnValue === "delete") deletePackage(dlg.dataset.pid);
    else status("nothing deleted");
  });
}

function editorErrors(err) {
  const box = $("editor-errors");
  box.classList.remove("ok");
  box.textContent = err.data && err.data.problems && err.data.problems.length
    ? err.data.problems.map((p) => `${err.data.file || "package"}${p.line ? ":" + p.line : ""}: ${p.field}: ${p.expected}`).join("\n")
    : err.message;
}

// The name errors point at: the file loaded, else the package's id as a file name, else "pasted text".
function editorName() {
  if (D.editorFile) return D.editorFile.slice(0, 200);
  const m = /^id:\s*([a-z0-9][a-z0-9-]{0,62})\s*$/m.exec($("editor-text").value);
  return m ? `${m[1]}.yaml` : "pasted text";
}

function setupEditor() {
  const dlg = $("editor");
  $("open-editor").addEventListener("click", () => {
    $("editor-base").replaceChildren(...D.order.map((pid) => el("option", { value: pid }, pid)));
    if (S.focus) $("editor-base").value = S.focus;
    dlg.showModal();
  });
  $("editor-load").addEventListener("click", async () => {
    const pid = $("editor-base").value;
    const d = await api(`/api/packages/${encodeURIComponent(pid)}`);
    $("editor-text").value = d.text.replace(/^id:\s*(\S+)\s*$/m, (m, id) => `id: ${id}-edited`);
    D.editorFile = `${pid}-edited.yaml`;
    $("editor-errors").textContent = "A copy under a new id; edit and add it.";
  });
  $("editor-file").addEventListener("change", async (e) => {
    const f = e.target.files[0];
    if (f) { $("editor-text").value = await f.text(); D.editorFile = f.name; }
  });
  $("editor-validate").addEventListener("click", async () => {
    try {
      const r = await api("/api/packages/validate", { text: $("editor-text").value, name: editorName() });
      $("editor-errors").textContent = `valid: ${r.id} — ${r.title} (${r.n_commitments} commitments)`;
      $("editor-errors").classList.add("ok");
    } catch (err) { editorErrors(err); }
  });
  $("editor-add").addEventListener("click", async () => {
    try {
      const text = $("editor-text").value;
      const r = await api("/api/packages", { text, name: editorName() });
      storeUpload(r.id, text);
      D.catalogue[r.id] = r;
      if (!D.order.includes(r.id)) D.order.push(r.id);
      if (!S.packages.includes(r.id)) S.packages.push(r.id);
      S.focus = r.id;
      delete S.edits[r.id];
      renderPicker(); renderFocus(); renderLevers();
      dlg.close();
      scheduleUpdate();
    } catch (err) { editorErrors(err); }
  });
}

/* ------------------------------------------------------------ wiring */
function wire() {
  $("focus").addEventListener("change", (e) => { S.focus = e.target.value; renderLevers(); scheduleUpdate(); });
  $("commitments-box").addEventListener("toggle", openCommitments);
  new IntersectionObserver((seen) => {
    if (seen.some((e) => e.isIntersecting) && D.detailStale && D.last) runDetail();
  }).observe($("guarantor-view"));
  $("lever-legal-form").addEventListener("change", (e) => { editOf(S.focus).legal_form = e.target.value || null; scheduleUpdate(); });
  $("lever-posture").addEventListener("change", (e) => { editOf(S.focus).posture = e.target.value || null; scheduleUpdate(); });
  $("lever-aid-scale").addEventListener("input", (e) => {
    const v = parseFloat(e.target.value);
    editOf(S.focus).aid_scale = v === 1 ? null : v;
    $("lever-aid-scale-out").textContent = aidScaleText(v, D.catalogue[S.focus].levers.total_aid_usd_per_year);
    scheduleUpdate();
  });
  $("add-guarantor-btn").addEventListener("click", () => {
    const g = $("add-guarantor").value;
    const key = $("add-kind").value;
    if (!g) return;
    const e = editOf(S.focus);
    e[key] = e[key] || {};
    if (e[key][g] === undefined) e[key][g] = { troops: 1000, aircraft: 12, air_defence: 300 }[key];
    renderLevers();
    if (key !== "troops") $(key === "aircraft" ? "aircraft-box" : "air-defence-box").open = true;
    scheduleUpdate();
  });
  $("add-kind").addEventListener("change", renderLevers);
  $("lever-guarantor").addEventListener("change", (e) => { S.guarantor = e.target.value; renderGuarantorLever(); });
  $("lever-guarantor-form").addEventListener("change", (e) => setGuarantorEdit("legal_form_of", e.target.value));
  $("lever-guarantor-posture").addEventListener("change", (e) => setGuarantorEdit("posture_of", e.target.value));
  $("lever-remove").addEventListener("click", () => {
    const g = S.guarantor;
    if (!g) return;
    const e = editOf(S.focus);
    e.remove = [...new Set([...(e.remove || []), g])];
    for (const k of ["troops", "aircraft", "air_defence", "aid_usd", "legal_form_of", "posture_of"]) if (e[k]) { delete e[k][g]; if (!Object.keys(e[k]).length) delete e[k]; }
    renderLevers();
    scheduleUpdate();
  });
  for (const k of VIEWS) $(`tab-${k}`).addEventListener("click", () => setView(k));
  $("will-scenario").addEventListener("change", (e) => chooseWillScenario(e.target.value));
  $("pin").addEventListener("click", togglePin);
  $("sens-package").addEventListener("change", (e) => { S.sens.pkg = e.target.value; writeHash(); runSensitivity(); });
  $("sens-n").addEventListener("change", (e) => { S.sens.n = parseInt(e.target.value, 10); writeHash(); runSensitivity(); });
  $("sens-metric").addEventListener("change", (e) => { S.sens.metric = e.target.value; writeHash(); renderSensitivity(); });
  $("sens-run").addEventListener("click", runSensitivity);
  $("reset-levers").addEventListener("click", () => { delete S.edits[S.focus]; renderLevers(); scheduleUpdate(); });
  $("export-package").addEventListener("click", () => downloadPackage(S.focus, isEmptyEdit(S.edits[S.focus]) ? `${S.focus}.yaml` : `${S.focus}-edited.yaml`));
  $("reset-assumptions").addEventListener("click", () => { S.overrides = {}; S.horizon = null; renderAssumptions(); renderParams(); scheduleUpdate(); });
  $("horizon").addEventListener("input", (e) => {
    const v = parseFloat(e.target.value);
    S.horizon = v === D.meta.default_horizon ? null : v;
    $("horizon-out").textContent = `${v} yr`;
    scheduleUpdate();
  });
  $("param-search").addEventListener("input", renderParams);
  $("param-basis").addEventListener("change", renderParams);
  $("n-futures").addEventListener("change", (e) => { S.n = parseInt(e.target.value, 10); writeHash(); runExplore(); });
  $("thresholds").addEventListener("change", (e) => { S.thresholds = e.target.value; writeHash(); runExplore(); });
  $("pct-metric").addEventListener("change", (e) => { S.pctMetric = e.target.value; writeHash(); if (D.lastExplore) renderExplore(D.lastExplore); });
  $("live-futures").addEventListener("change", (e) => { S.live = e.target.checked; writeHash(); if (S.live) runExplore(); });
  $("run-futures").addEventListener("click", runExplore);
  $("drawer-close").addEventListener("click", () => { $("drawer").hidden = true; });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") $("drawer").hidden = true; });
  $("share").addEventListener("click", async () => {
    writeHash();
    try { await navigator.clipboard.writeText(location.href); status("link copied"); } catch (e) { status("copy the address bar to share this view"); }
  });
  $("download-report").addEventListener("click", downloadReport);
  for (const b of document.querySelectorAll("button.copy")) {
    b.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText($(b.dataset.target).textContent); b.textContent = "Copied"; setTimeout(() => { b.textContent = "Copy"; }, 1200); } catch (e) { /* ignore */ }
    });
  }
  window.addEventListener("hashchange", () => {
    if (location.hash === "#" + encodeState()) return;
    readHash(); normaliseState(); renderAll(); scheduleUpdate();
  });
}

function normaliseState() {
  S.packages = S.packages.filter((p) => D.catalogue[p]);
  if (!S.packages.length) S.packages = [...D.order];
  if (!S.packages.includes(S.focus)) S.focus = S.packages.includes("coalition-backstop") ? "coalition-backstop" : S.packages[0];
}

function renderAll() {
  renderPicker(); renderFocus(); renderLevers(); renderAssumptions(); renderParams();
  const nf = $("n-futures");
  if (![...nf.options].some((o) => o.value === String(S.n))) nf.append(el("option", { value: String(S.n) }, S.n.toLocaleString("en-US")));
  nf.value = String(S.n);
  $("thresholds").value = S.thresholds;
  $("live-futures").checked = S.live;
  const pm = $("pct-metric");
  pm.replaceChildren(...["attack_probability", "approval_probability", "escalation_risk", "defence_holds_probability", "total_cost_usd_per_year", "max_cost_pct_gdp", "expected_casualties"].map((m) => el("option", { value: m }, labelOf(m))));
  pm.value = S.pctMetric;
  setView(S.view, false);
}

async function restoreUploads(wanted) {
  const stored = storedUploads();
  for (const pid of wanted) {
    if (D.catalogue[pid] || !stored[pid]) continue;
    try {
      const r = await api("/api/packages", { text: stored[pid], name: `${pid}.yaml` });
      D.catalogue[r.id] = r;
      D.order.push(r.id);
    } catch (e) { /* stale copy: dropped */ }
  }
}

async function init() {
  try {
    const [meta, pk, params] = await Promise.all([api("/api/meta"), api("/api/packages"), api("/api/parameters")]);
    D.meta = meta;
    if (meta.data) document.getElementById("data-vintage").textContent = `Data as of ${meta.data.latest} (${meta.data.detail}).`;
    for (const p of pk.packages) { D.catalogue[p.id] = p; D.order.push(p.id); }
    D.params = params.parameters;
    D.basisCounts = params.basis_counts || null;
    D.paramByName = Object.fromEntries(params.parameters.map((p) => [p.name, p]));
    S.thresholds = meta.default_thresholds.join("; ");  // the CLI's defaults unless the link says otherwise
    readHash();
    await restoreUploads([...S.packages, ...Object.values((S.pin && S.pin.as) || {})]);
    const missing = S.packages.filter((p) => !D.catalogue[p]);
    normaliseState();
    wire();
    setupEditor();
    setupDelete();
    renderAll();
    initDesigns();
    await runCompare();
    if (missing.length) status(`not on this server (upload them again): ${missing.join(", ")}`, true);
    document.body.dataset.ready = "1";
  } catch (err) {
    status(`could not start: ${err.message}`, true);
  }
}

init();
