/* consentkit dashboard: asks POST {prefix}/api/query (the admin cookie authorizes it) and draws
   the answers. Everything shown comes from one batch of queries per change; the range and
   the filters live in the address (shareable, kept on reload, the back button undoes a
   change). No library, no build step, no inline script or style (works under CSP
   default-src 'self'). */
(function () {
  "use strict";

  const api = document.body.dataset.api;
  const SVG = "http://www.w3.org/2000/svg";
  const state = { range: "7d", from: "", to: "", filters: [] }; // filters: {dimension, label, value}
  const RANGES = ["day", "7d", "30d", "month", "12mo", "custom"];
  const DATE = /^\d{4}-\d{2}-\d{2}$/;
  // Consent decisions are kept by these only: other filters do not apply to the opt-in rate.
  const CONSENT_FILTERS = ["visit:country", "visit:device", "visit:browser"];
  const shown = { totals: null, time: null, panels: new Map() }; // what the CSV download holds
  let generation = 0;

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const number = new Intl.NumberFormat("en");
  const regions = new Intl.DisplayNames(["en"], { type: "region" });

  function el(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    return node;
  }

  /* ---- the query ---- */

  async function query(body) {
    const response = await fetch(api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status === 401) {
      window.location.reload(); // the admin cookie expired: back to the login form
    }
    if (!response.ok) {
      const error = new Error("the query answered " + response.status);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  function dateRange() {
    return state.range === "custom" ? [state.from, state.to] : state.range;
  }

  function days(first, last) {
    return Math.round((Date.parse(last) - Date.parse(first)) / 86400000) + 1;
  }

  function timeDimension() {
    if (state.range === "day") return "time:hour";
    if (state.range === "12mo") return "time:month";
    if (state.range !== "custom") return "time:day";
    const span = days(state.from, state.to);
    return span === 1 ? "time:hour" : span > 92 ? "time:month" : "time:day";
  }

  function filters(dimensions) {
    return state.filters
      .filter((f) => !dimensions || dimensions.includes(f.dimension))
      .map((f) => ["is", f.dimension, [f.value]]);
  }

  const COMPARE = { comparisons: { mode: "previous_period" } };

  // Everything the page shows, as one batch: totals, the time series, each panel, consent.
  async function load() {
    const mine = ++generation;
    const current = () => mine === generation;
    const base = { date_range: dateRange(), filters: filters() };
    const time = timeDimension();
    const panels = $$(".panel[data-dimension]");
    $("#status").textContent = "Loading…";
    document.body.classList.add("loading");
    const batch = [
      { ...base, metrics: ["visitors", "pageviews"], include: COMPARE },
      { ...base, metrics: ["visitors", "pageviews"], dimensions: [time],
        include: { ...COMPARE, time_labels: true } },
      ...panels.map((panel) => ({
        ...base,
        metrics: panel.dataset.metrics.split(","),
        dimensions: [panel.dataset.dimension],
        order_by: [["visitors", "desc"]],
        pagination: { limit: 10, offset: 0 },
      })),
      {
        metrics: ["grant_rate", "decisions"],
        dimensions: ["consent:category"],
        date_range: dateRange(),
        filters: filters(CONSENT_FILTERS),
      },
    ];
    let answers;
    try {
      answers = await query(batch);
    } catch (error) {
      if (!current()) return;
      document.body.classList.remove("loading");
      $("#status").textContent = "The dashboard could not be loaded.";
      return;
    }
    if (!current()) return;
    const [totals, series, ...rest] = answers;
    const consent = rest.pop();
    const failed = answers.filter((answer) => answer.error).length;
    if (!totals.error) drawTotals(totals);
    if (!series.error) drawTime(series, time);
    panels.forEach((panel, index) => {
      if (!rest[index].error) drawBars(panel, rest[index]);
    });
    drawConsent($("#consent .body"), consent);
    document.body.classList.remove("loading");
    $("#status").textContent = failed > (consent.error ? 1 : 0)
      ? "Some panels could not be loaded." : "Updated.";
  }

  /* ---- totals ---- */

  function drawTotals(answer) {
    const row = answer.results[0] || { metrics: [0, 0] };
    const [visitors, pageviews] = row.metrics;
    const [before, beforeViews] = row.comparison ? row.comparison.metrics : [0, 0];
    const ratio = (v, p) => (v ? p / v : 0);
    $("#total-visitors").textContent = number.format(visitors);
    $("#total-pageviews").textContent = number.format(pageviews);
    $("#total-ratio").textContent = visitors ? ratio(visitors, pageviews).toFixed(1) : "–";
    drawChange("visitors", visitors, before);
    drawChange("pageviews", pageviews, beforeViews);
    drawChange("ratio", ratio(visitors, pageviews), ratio(before, beforeViews));
    shown.totals = { visitors, pageviews, before, beforeViews };
  }

  // "+12% on the previous period", in words too (an arrow alone says nothing to a reader).
  function drawChange(name, now, before) {
    const node = $(`#change-${name}`);
    if (!before) {
      node.textContent = now ? "new in this period" : "";
      node.className = "change";
      return;
    }
    const change = Math.round((100 * (now - before)) / before);
    node.textContent = `${change > 0 ? "+" : ""}${change}% on the previous period`;
    node.className = "change " + (change > 0 ? "up" : change < 0 ? "down" : "");
  }

  /* ---- the time chart ---- */

  const utc = (options) => new Intl.DateTimeFormat("en", { timeZone: "UTC", ...options });
  const formats = {
    "time:hour": { axis: utc({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
                   tip: utc({ month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
                              hourCycle: "h23" }) },
    "time:day": { axis: utc({ month: "short", day: "numeric" }),
                  tip: utc({ weekday: "short", month: "short", day: "numeric", year: "numeric" }) },
    "time:month": { axis: utc({ month: "short", year: "2-digit" }),
                    tip: utc({ month: "long", year: "numeric" }) },
  };

  function toDate(label) {
    return new Date(label.replace(" ", "T") + (label.length > 10 ? "Z" : "T00:00:00Z"));
  }

  // Every bucket of the range (the server lists them), but no hour that has not happened yet.
  function buckets(answer, dimension) {
    const now = new Date().toISOString().slice(0, 13).replace("T", " ") + ":00:00";
    const labels = answer.meta.time_labels || [];
    return dimension === "time:hour" ? labels.filter((label) => label <= now) : labels;
  }

  // A few round ticks (1, 2 or 5 times a power of ten) from zero to at least max.
  function ticks(max) {
    const rough = Math.max(max, 4) / 4;
    const power = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = Math.max(1, [1, 2, 5, 10].find((m) => m * power >= rough) * power);
    const values = [];
    for (let v = 0; v < max + step; v += step) values.push(v);
    while (values.length < 3) values.push(values[values.length - 1] + step);
    return values;
  }

  let lastTime = null;

  function drawTime(answer, dimension) {
    const found = new Map(answer.results.map((r) => [r.dimensions[0], r]));
    const points = buckets(answer, dimension).map((label) => {
      const row = found.get(label);
      const [visitors, pageviews] = row ? row.metrics : [0, 0];
      const previous = row && row.comparison ? row.comparison.metrics[0] : 0;
      return { label, date: toDate(label), visitors, pageviews, previous };
    });
    lastTime = { points, dimension };
    shown.time = points;
    renderTime();
    const tbody = $("#timetable tbody");
    tbody.replaceChildren(...points.map((p) => {
      const row = el("tr");
      row.append(el("th", { scope: "row" }, formats[dimension].tip.format(p.date)),
                 el("td", {}, number.format(p.visitors)), el("td", {}, number.format(p.pageviews)),
                 el("td", {}, number.format(p.previous)));
      return row;
    }));
  }

  function renderTime() {
    if (!lastTime) return;
    const { points, dimension } = lastTime;
    const box = $("#timechart");
    const width = Math.max(box.clientWidth, 280);
    const height = width < 500 ? 190 : 230;
    const pad = { top: 14, right: 16, bottom: 30, left: 44 };
    const innerW = width - pad.left - pad.right;
    const innerH = height - pad.top - pad.bottom;
    const max = Math.max(0, ...points.map((p) => Math.max(p.visitors, p.pageviews, p.previous)));
    const yTicks = ticks(max);
    const top = yTicks[yTicks.length - 1];
    const x = (i) => pad.left + (points.length === 1 ? innerW / 2 : (i * innerW) / (points.length - 1));
    const y = (v) => pad.top + innerH - (v / top) * innerH;
    const totalP = points.reduce((s, p) => s + p.pageviews, 0);
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`, width, height, role: "img", tabindex: "0",
      "aria-label": `Visitors and page views over time, ${points.length} points: ` +
        `${number.format(totalP)} page views in all. Use the arrow keys to read each point; ` +
        "the table below has every value.",
    });
    const grid = svg("g", { class: "axes" });
    for (const v of yTicks) {
      grid.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
      const text = svg("text", { x: pad.left - 8, y: y(v) + 4, "text-anchor": "end" });
      text.textContent = compact(v);
      grid.append(text);
    }
    const xCount = Math.min(points.length, Math.max(2, Math.floor(innerW / 90)));
    const stepX = Math.max(1, Math.ceil((points.length - 1) / (xCount - 1 || 1)));
    for (let i = 0; i < points.length; i += stepX) {
      const last = i === points.length - 1;
      const anchor = points.length === 1 ? "middle" : i === 0 ? "start" : last ? "end" : "middle";
      const text = svg("text", { x: x(i), y: height - 8, "text-anchor": anchor });
      text.textContent = formats[dimension].axis.format(points[i].date);
      grid.append(text);
    }
    chart.append(grid);
    // The previous period's visitors, bucket for bucket, as a quiet line under the others.
    chart.append(svg("path", {
      class: "line previous",
      d: points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.previous).toFixed(1)}`)
        .join(""),
    }));
    const series = [["pageviews", "pageviews"], ["visitors", "visitors"]];
    for (const [key, name] of series) {
      const line = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`)
        .join("");
      const base = y(0).toFixed(1);
      const area = `${line}L${x(points.length - 1).toFixed(1)},${base}L${x(0).toFixed(1)},${base}Z`;
      chart.append(svg("path", { d: area, class: `area ${name}` }));
      chart.append(svg("path", { d: line, class: `line ${name}` }));
      if (points.length <= 31) {
        points.forEach((p, i) =>
          chart.append(svg("circle", { cx: x(i), cy: y(p[key]), r: 3, class: `dot ${name}` })));
      }
    }
    const guide = svg("line", { class: "guide", y1: pad.top, y2: pad.top + innerH, visibility: "hidden" });
    chart.append(guide);
    const tip = el("div", { class: "tooltip", hidden: "" });
    let active = -1;
    const show = (i) => {
      active = Math.max(0, Math.min(points.length - 1, i));
      const p = points[active];
      guide.setAttribute("x1", x(active));
      guide.setAttribute("x2", x(active));
      guide.setAttribute("visibility", "visible");
      tip.replaceChildren(el("strong", {}, formats[dimension].tip.format(p.date)),
        el("span", { class: "key visitors" }, `${number.format(p.visitors)} visitors`),
        el("span", { class: "key pageviews" }, `${number.format(p.pageviews)} page views`),
        el("span", { class: "key previous" }, `${number.format(p.previous)} visitors before`));
      tip.hidden = false;
      const left = Math.min(Math.max(x(active) - 80, 0), width - 170);
      tip.style.left = left + "px";
      tip.style.top = Math.max(0, y(Math.max(p.visitors, p.pageviews)) - 74) + "px";
    };
    const hide = () => {
      tip.hidden = true;
      guide.setAttribute("visibility", "hidden");
    };
    chart.addEventListener("pointermove", (event) => {
      const rect = chart.getBoundingClientRect();
      const px = ((event.clientX - rect.left) * width) / rect.width;
      show(points.length === 1 ? 0 : Math.round(((px - pad.left) / innerW) * (points.length - 1)));
    });
    chart.addEventListener("pointerleave", hide);
    chart.addEventListener("blur", hide);
    chart.addEventListener("keydown", (event) => {
      const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -Infinity, End: Infinity };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const to = active + moves[event.key];
      show(Number.isFinite(to) ? to : moves[event.key] > 0 ? points.length - 1 : 0);
    });
    const legend = el("p", { class: "legend", "aria-hidden": "true" });
    legend.append(el("span", { class: "key visitors" }, "Visitors"),
                  el("span", { class: "key pageviews" }, "Page views"),
                  el("span", { class: "key previous" }, "Visitors, previous period"));
    box.replaceChildren(legend, chart, tip);
    if (max === 0) box.append(el("p", { class: "nodata" }, "No visits in this period"));
  }

  function compact(value) {
    return value >= 1e6 ? value / 1e6 + "M" : value >= 1e4 ? value / 1e3 + "k" : number.format(value);
  }

  /* ---- bar lists ---- */

  function display(dimension, value) {
    if (dimension === "visit:country") {
      if (value === "ZZ" || !value) return "Unknown";
      try { return regions.of(value) || value; } catch (error) { return value; }
    }
    return value || "(none)";
  }

  function drawBars(panel, answer) {
    const dimension = panel.dataset.dimension;
    const list = $(".bars", panel);
    shown.panels.set(panel, answer.results);
    if (!answer.results.length) {
      list.replaceChildren(el("li", { class: "empty" }, "No data for this period"));
      return;
    }
    const top = answer.results[0].metrics[0] || 1;
    const chosen = state.filters.find((f) => f.dimension === dimension);
    list.replaceChildren(...answer.results.map((row) => {
      const value = row.dimensions[0];
      const [visitors, second] = row.metrics;
      const isGoal = dimension === "event:goal"; // its second number: how many times reached
      const name = display(dimension, value);
      const item = el("li", { "data-value": value });
      // The name comes from what is shown (plus words for screen readers only), so the
      // label a voice-control user reads out is the label (WCAG 2.5.3).
      const button = el("button", {
        type: "button", class: "row",
        title: `Show only ${panel.dataset.label.toLowerCase()} ${name}`,
      });
      if (chosen && chosen.value === value) button.setAttribute("aria-pressed", "true");
      if (value === "(other)" || isGoal) button.disabled = true;
      const bar = el("span", { class: "bar", "aria-hidden": "true" });
      bar.style.width = Math.max(1, (100 * visitors) / top) + "%";
      button.append(bar, el("span", { class: "label" }, name),
                    el("span", { class: "sr" }, ": "),
                    el("span", { class: "num" }, number.format(visitors)),
                    el("span", { class: "sr" }, " visitors, "),
                    el("span", { class: "pct" },
                       isGoal ? `${number.format(second)} times` : `${Math.round(second)}%`));
      button.addEventListener("click", () =>
        addFilter({ dimension, value, label: panel.dataset.label, name }));
      item.append(button);
      return item;
    }));
  }

  /* ---- consent ---- */

  function drawConsent(body, answer) {
    if (answer.error || !answer.results.length) {
      body.replaceChildren(el("p", { class: "empty" }, "No consent data."));
      return;
    }
    const list = el("ol", { class: "bars consent", "aria-label": "Opt-in rate by category" });
    for (const row of answer.results) {
      const [category, rate, decisions] = [row.dimensions[0], row.metrics[0], row.metrics[1]];
      const item = el("li", { "data-value": category });
      const line = el("div", { class: "row" });
      const bar = el("span", { class: "bar", "aria-hidden": "true" });
      bar.style.width = Math.max(1, rate) + "%";
      line.append(bar, el("span", { class: "label" }, category),
                  el("span", { class: "num" }, `${Math.round(rate)}%`),
                  el("span", { class: "pct" }, `of ${number.format(decisions)}`));
      item.append(line);
      list.append(item);
    }
    body.replaceChildren(list, el("p", { class: "note" },
      "Share of decisions that granted each category."));
    const ignored = state.filters.filter((f) => !CONSENT_FILTERS.includes(f.dimension));
    if (ignored.length) {
      body.append(el("p", { class: "note ignored" }, "Not filtered by " +
        ignored.map((f) => f.label.toLowerCase()).join(", ") +
        ": consent decisions are not kept by it."));
    }
  }

  /* ---- filters and the date range ---- */

  function addFilter(filter) {
    state.filters = state.filters.filter((f) => f.dimension !== filter.dimension);
    state.filters.push(filter);
    changed();
  }

  /* ---- the state in the address ---- */

  function address() {
    const params = new URLSearchParams();
    params.set("range", state.range);
    if (state.range === "custom") { params.set("from", state.from); params.set("to", state.to); }
    for (const f of state.filters) params.append("filter", f.dimension + "|" + f.value);
    return "?" + params.toString();
  }

  // A change the visitor made: a new entry in the history, then the page drawn for it.
  function changed() {
    if (address() !== location.search) history.pushState(null, "", address());
    show();
  }

  function readAddress() {
    const params = new URLSearchParams(location.search);
    const range = params.get("range") || "7d";
    const [from, to] = [params.get("from") || "", params.get("to") || ""];
    const custom = range === "custom" && DATE.test(from) && DATE.test(to) && from <= to;
    state.range = RANGES.includes(range) && (range !== "custom" || custom) ? range : "7d";
    [state.from, state.to] = state.range === "custom" ? [from, to] : ["", ""];
    state.filters = params.getAll("filter").map((text) => {
      const [dimension, ...rest] = text.split("|");
      const panel = $(`.panel[data-dimension="${CSS.escape(dimension)}"]`);
      if (!panel) return null;
      const value = rest.join("|");
      return { dimension, value, label: panel.dataset.label, name: display(dimension, value) };
    }).filter(Boolean);
  }

  // Draw the controls for the state, then load what it shows.
  function show() {
    for (const button of $$(".ranges button")) {
      button.setAttribute("aria-pressed", String(button.dataset.range === state.range));
    }
    $("#custom").hidden = state.range !== "custom";
    if (state.range === "custom") {
      [$("#from").value, $("#to").value] = [state.from, state.to];
      $("#range-label").textContent = `· ${state.from} to ${state.to}`;
    } else {
      $("#range-label").textContent = "· " + $(`.ranges [data-range="${state.range}"]`).textContent;
    }
    drawChips();
    load();
  }

  function drawChips() {
    const list = $("#filters");
    list.replaceChildren(...state.filters.map((filter) => {
      const item = el("li", { class: "chip", "data-dimension": filter.dimension });
      item.append(el("span", {}, `${filter.label} is ${filter.name}`));
      const remove = el("button", { type: "button", "aria-label": `Remove filter ${filter.label} is ${filter.name}` }, "×");
      remove.addEventListener("click", () => {
        state.filters = state.filters.filter((f) => f !== filter);
        changed();
        $(".ranges button[aria-pressed=true]").focus();
      });
      item.append(remove);
      return item;
    }));
  }

  function pickRange(range) {
    if (range === "custom") { // the form first; the range changes when it is applied
      for (const button of $$(".ranges button")) {
        button.setAttribute("aria-pressed", String(button.dataset.range === range));
      }
      $("#custom").hidden = false;
      const today = new Date().toISOString().slice(0, 10);
      $("#to").value = $("#to").value || today;
      $("#from").value = $("#from").value ||
        new Date(Date.now() - 13 * 86400000).toISOString().slice(0, 10);
      $("#from").focus();
      return;
    }
    Object.assign(state, { range, from: "", to: "" });
    setRangeError("");
    changed();
  }

  function setRangeError(message) {
    $("#range-error").textContent = message;
    for (const input of [$("#from"), $("#to")]) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  for (const button of $$(".ranges button")) {
    button.addEventListener("click", () => pickRange(button.dataset.range));
  }
  $("#custom").addEventListener("submit", (event) => {
    event.preventDefault();
    const from = $("#from").value;
    const to = $("#to").value;
    if (!from || !to || from > to) {
      // Say so beside the inputs, and keep them showing the range the data is for.
      const showing = $("#range-label").textContent.replace("· ", "");
      setRangeError(`${from || "?"} to ${to || "?"} is not a range: choose a start date on ` +
                    `or before the end date. Still showing ${showing}.`);
      if (state.range === "custom") [$("#from").value, $("#to").value] = [state.from, state.to];
      $("#from").focus();
      return;
    }
    setRangeError("");
    Object.assign(state, { range: "custom", from, to });
    changed();
  });

  /* ---- CSV of what is shown ---- */

  function csvCell(value) {
    const text = String(value === undefined || value === null ? "" : value);
    // Quoted when needed; a leading = + - @ is neutralised so a spreadsheet does not run it.
    const safe = /^[=+\-@]/.test(text) ? "'" + text : text;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  }

  function csv() {
    const lines = [["section", "value", "visitors", "pageviews", "percentage", "events",
                    "visitors_previous_period"]];
    const t = shown.totals;
    if (t) lines.push(["Totals", "", t.visitors, t.pageviews, "", "", t.before]);
    for (const p of shown.time || []) {
      lines.push(["Time", p.label, p.visitors, p.pageviews, "", "", p.previous]);
    }
    for (const [panel, results] of shown.panels) {
      const isGoal = panel.dataset.dimension === "event:goal";
      for (const row of results) {
        const [visitors, second] = row.metrics;
        lines.push([$("h2", panel).textContent, row.dimensions[0], visitors, "",
                    isGoal ? "" : second, isGoal ? second : "", ""]);
      }
    }
    return lines.map((line) => line.map(csvCell).join(",")).join("\r\n") + "\r\n";
  }

  $("#download").addEventListener("click", () => {
    const link = el("a", {
      href: URL.createObjectURL(new Blob([csv()], { type: "text/csv" })),
      download: `analytics-${state.range === "custom" ? state.from + "-" + state.to : state.range}.csv`,
    });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  });

  window.addEventListener("popstate", () => {
    readAddress();
    setRangeError("");
    show();
  });

  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(renderTime, 100);
  });

  readAddress();
  show();
})();
