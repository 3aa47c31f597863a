// aiops-mcp chat in the browser: the conversation streams from POST /api/ask (Server-Sent Events);
// the data panel shows the latest answer's results as charts (uPlot) and sortable, exportable tables.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
  const state = { busy: false, shown: null };

  // ---- small helpers ----------------------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  function fmt(value) {
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
    if (typeof value !== "number") return String(value);
    const size = Math.abs(value);
    if (size !== 0 && (size >= 1e6 || size < 1e-3)) return value.toPrecision(4);
    return String(Number(value.toPrecision(4)));
  }

  function labelText(labels) {
    const pairs = Object.entries(labels || {}).map(([k, v]) => `${k}=${v}`);
    return pairs.length ? pairs.join(",") : "{}";
  }

  function modeLabel(mode) {
    if (!mode) return "unknown";
    if (mode === "offline") return "offline planner";
    if (mode.startsWith("model:")) return `model: ${mode.slice(6)}`;
    return mode;
  }

  function levelClass(level) {
    const name = String(level || "").toLowerCase();
    if (["error", "err", "critical", "crit", "fatal", "panic", "alert", "emerg"].includes(name)) return "level-error";
    if (["warn", "warning"].includes(name)) return "level-warn";
    if (["info", "notice", "information"].includes(name)) return "level-info";
    if (["debug", "trace"].includes(name)) return "level-debug";
    return "level-unknown";
  }

  function argsText(args) {
    return Object.entries(args || {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
  }

  // Just enough Markdown for answers (paragraphs, "- " lists, **bold**, `code`), built as DOM nodes.
  function renderMarkdown(target, text) {
    target.replaceChildren();
    for (const block of String(text).replace(/\r\n/g, "\n").split(/\n{2,}/)) {
      let list = null;
      let para = null;
      for (const line of block.split("\n")) {
        const item = /^\s*[-*] (.*)$/.exec(line);
        if (item) {
          para = null;
          if (!list) target.append((list = el("ul")));
          list.append(inline(el("li"), item[1]));
        } else {
          list = null;
          if (para) para.append(el("br"));
          else target.append((para = el("p")));
          inline(para, line.replace(/^#{1,6} /, ""));
        }
      }
    }
    return target;
  }

  function inline(parent, text) {
    for (const part of text.split(/(`[^`]+`|\*\*[^*]+\*\*)/g)) {
      if (part.startsWith("`") && part.endsWith("`") && part.length > 1) parent.append(el("code", { text: part.slice(1, -1) }));
      else if (part.startsWith("**") && part.endsWith("**") && part.length > 3) parent.append(el("strong", { text: part.slice(2, -2) }));
      else if (part) parent.append(part);
    }
    return parent;
  }

  // ---- exports ----------------------------------------------------------------------------------

  function csvCell(value) {
    if (value === null || value === undefined) return "";
    let text = typeof value === "object" ? JSON.stringify(value) : String(value);
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`; // no formulas in spreadsheets
    return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  function toCsv(columns, rows) {
    const lines = [columns.map((c) => csvCell(c.label)).join(",")];
    for (const row of rows) lines.push(columns.map((c) => csvCell(c.get(row))).join(","));
    return lines.join("\r\n") + "\r\n";
  }

  function download(filename, type, content) {
    const url = URL.createObjectURL(new Blob([content], { type }));
    const link = el("a", { href: url, download: filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function exportButtons(name, columns, rows) {
    return el("div", { class: "exports" },
      el("button", { type: "button", "data-testid": "export-csv", "aria-label": `Export ${name} as CSV`,
        onclick: () => download(`${name}.csv`, "text/csv;charset=utf-8", toCsv(columns, rows())) }, "Export CSV"),
      el("button", { type: "button", "data-testid": "export-json", "aria-label": `Export ${name} as JSON`,
        onclick: () => download(`${name}.json`, "application/json", JSON.stringify(rows(), null, 2)) }, "Export JSON"));
  }

  // ---- tables -----------------------------------------------------------------------------------

  function compare(a, b, numeric) {
    const missing = (v) => v === null || v === undefined || (numeric && Number.isNaN(v));
    if (missing(a) || missing(b)) return missing(a) - missing(b);
    return numeric ? a - b : String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  // columns: [{label, get(row), numeric}]; rows: the raw records (exported as JSON as they are).
  function sortableTable(kind, name, columns, records) {
    let rows = records.slice();
    const sort = { index: -1, dir: 1 };
    const body = el("tbody");
    const heads = columns.map((column, index) => el("th", { scope: "col", "aria-sort": "none", class: column.numeric ? "num" : null },
      el("button", { type: "button", class: "sort", "data-column": column.label,
        onclick: () => sortBy(index) }, column.label)));
    const table = el("table", { class: `data ${kind}`, "data-testid": `table-${kind}` },
      el("thead", {}, el("tr", {}, ...heads)), body);

    function fill() {
      body.replaceChildren(...rows.map((row) => el("tr", {}, ...columns.map((c) =>
        el("td", { class: c.numeric ? "num" : null, text: c.numeric ? fmt(c.get(row)) : c.get(row) ?? "" })))));
    }
    function sortBy(index) {
      sort.dir = sort.index === index ? -sort.dir : 1;
      sort.index = index;
      const { get, numeric } = columns[index];
      rows = records.slice().sort((a, b) => sort.dir * compare(get(a), get(b), numeric));
      heads.forEach((th, i) => th.setAttribute("aria-sort", i !== index ? "none" : sort.dir > 0 ? "ascending" : "descending"));
      fill();
    }
    fill();
    return el("div", { class: "table-wrap" }, exportButtons(name, columns, () => rows), el("div", { class: "scroll" }, table));
  }

  const stat = (key) => ({ label: key, numeric: true, get: (s) => (s.stats || {})[key] });
  const TABLES = {
    series: [{ label: "series", get: (s) => labelText(s.labels) }, stat("min"), stat("mean"), stat("max"), stat("last")],
    levels: [{ label: "level", get: (l) => l.level }, { label: "count", numeric: true, get: (l) => l.count },
      { label: "%", numeric: true, get: (l) => l.percent }],
    signals: [{ label: "signal", get: (s) => s.signal }, { label: "unit", get: (s) => s.unit },
      { label: "worst", numeric: true, get: (s) => s.peak }, { label: "mean", numeric: true, get: (s) => s.mean },
      { label: "verdict", get: (s) => (s.impacted ? "impacted" : s.impacted === false ? "not impacted" : s.status) }],
    slos: [{ label: "SLO", get: (s) => s.name }, { label: "measured", numeric: true, get: (s) => s.measured },
      { label: "target", numeric: true, get: (s) => s.target }, { label: "unit", get: (s) => s.unit },
      { label: "met", get: (s) => (s.compliant ? "yes" : s.compliant === false ? "no" : "no data") },
      { label: "budget used", numeric: true, get: (s) => s.budget_consumed }],
    logs: [{ label: "time", get: (l) => l.time }, { label: "level", get: (l) => l.level }, { label: "line", get: (l) => l.line }],
  };

  // ---- chart ------------------------------------------------------------------------------------

  function chart(seriesList, names) {
    const box = el("div", { class: "chart", "data-testid": "chart" });
    if (typeof window.uPlot !== "function") {
      box.append(el("p", { class: "empty", text: "The chart library did not load." }));
      return box;
    }
    const xs = [...new Set(seriesList.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    // Series sampled at other times leave `undefined` here, which uPlot draws across; a null the
    // data holds is a real gap, and breaks the line.
    const ys = seriesList.map((s) => {
      const values = new Array(xs.length).fill(undefined);
      for (const [t, v] of s.points) values[at.get(t)] = v;
      return values;
    });
    const ink = getComputedStyle(document.body).color;
    const axis = { stroke: ink, grid: { stroke: "rgba(128,128,128,0.2)" }, ticks: { stroke: "rgba(128,128,128,0.3)" } };
    const options = {
      width: 400, height: 240,
      scales: { x: { time: true } },
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"), // the answers speak UTC
      axes: [axis, { ...axis, size: 64, values: (_, ticks) => ticks.map(fmt) }],
      series: [{ label: "Time (UTC)" }, ...seriesList.map((s, i) => ({
        label: names[i], stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
        value: (_, v) => fmt(v),
      }))],
    };
    let plot = null;
    const fit = () => {
      const width = Math.floor(box.clientWidth);
      if (!width) return;
      if (!plot) plot = new window.uPlot({ ...options, width }, [xs, ...ys], box);
      else if (plot.width !== width) plot.setSize({ width, height: options.height });
    };
    new ResizeObserver(fit).observe(box);
    requestAnimationFrame(fit);
    return box;
  }

  // ---- the data panel ---------------------------------------------------------------------------

  function itemsOf(event) {
    const data = event.structured;
    if (event.is_error || !data || typeof data !== "object") return [];
    const parts = [data.metrics, data.logs].filter(Boolean);
    const items = [];
    for (const part of parts.length ? parts : [data]) {
      const own = part.provenance && part.provenance.query ? [part.provenance.query] : event.queries || [];
      const base = { tool: event.name, queries: own, data: part };
      if (part.series && part.series.length) items.push({ ...base, kind: "series" });
      if (part.timeline && part.timeline.length && part.bucket_seconds && part.timeline_start)
        items.push({ ...base, kind: "timeline", queries: event.queries || [] });
      const levels = part.levels && part.levels.length ? part.levels : part.level_counts;
      if (levels && levels.length) items.push({ ...base, kind: "levels", rows: levels });
      if (part.lines && part.lines.length) items.push({ ...base, kind: "logs" });
      if (part.signals && part.signals.length) items.push({ ...base, kind: "signals", queries: part.signals.map((s) => s.query).filter(Boolean) });
      if (part.slos && part.slos.length) items.push({ ...base, kind: "slos", queries: part.slos.map((s) => s.query).filter(Boolean) });
    }
    return items;
  }

  function renderItem(item, index) {
    const name = `${item.tool}-${item.kind}-${index + 1}`;
    const head = el("header", {}, el("h3", { text: `${item.tool} · ${item.kind}` }),
      item.queries.length ? el("ul", { class: "item-queries", "data-testid": "item-queries" },
        ...[...new Set(item.queries)].map((q) => el("li", {}, el("span", { class: "muted", text: "query " }), el("code", { text: q })))) : null);
    const body = [];
    const data = item.data;
    if (item.kind === "series") {
      const drawable = data.series.filter((s) => (s.points || []).length > 1);
      if (drawable.length) body.push(chart(drawable, drawable.map((s) => labelText(s.labels))));
      body.push(sortableTable("series", name, TABLES.series, data.series));
    } else if (item.kind === "timeline") {
      const t0 = Date.parse(data.timeline_start) / 1000;
      const points = data.timeline.map((count, i) => [t0 + i * data.bucket_seconds, count]);
      body.push(chart([{ points }], [`events per ${fmt(data.bucket_seconds / 60)} min`]));
    } else if (item.kind === "levels") {
      body.push(sortableTable("levels", name, TABLES.levels, item.rows));
    } else if (item.kind === "signals" || item.kind === "slos") {
      body.push(sortableTable(item.kind, name, TABLES[item.kind], data[item.kind]));
    } else if (item.kind === "logs") {
      body.push(exportButtons(name, TABLES.logs, () => data.lines));
      body.push(el("ol", { class: "logs", "data-testid": "log-lines" }, ...data.lines.map((line) =>
        el("li", { class: `log ${levelClass(line.level)}`, "data-level": line.level },
          el("time", { text: line.time }), el("span", { class: "lvl", text: line.level }), el("span", { class: "line", text: line.line })))));
      if (data.more_lines) body.push(el("p", { class: "muted", text: "More lines matched than are shown." }));
    }
    return el("article", { class: "item", "data-kind": item.kind, "data-testid": "panel-item" }, head, ...body);
  }

  function showData(turn) {
    state.shown = turn;
    const target = $("panel-items");
    const items = turn ? turn.items : [];
    if (!items.length) {
      const text = turn && turn.running ? "Waiting for data…" : "No charts or tables for this answer.";
      target.replaceChildren(el("p", { class: "empty", text }));
      return;
    }
    target.replaceChildren(...items.map(renderItem));
  }

  // ---- the conversation -------------------------------------------------------------------------

  function scrollDown() {
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  }

  function newTurn(question) {
    $("messages").append(el("li", { class: "msg user", "data-testid": "user-message" }, el("p", { text: question })));
    const traceList = el("ol", { class: "trace-list" });
    const summary = el("summary", { text: "Tool calls" });
    const trace = el("details", { class: "trace", "data-testid": "trace", hidden: true }, summary, traceList);
    const text = el("div", { class: "answer-text streaming", "data-testid": "answer-text" });
    const extras = el("div", { class: "extras" });
    const box = el("li", { class: "msg assistant", "data-testid": "assistant-message", "aria-busy": "true" }, trace, text, extras);
    $("messages").append(box);
    const calls = new Map();
    const turn = { items: [], running: true, ended: false, streamed: "" };

    const updateSummary = () => {
      const all = [...calls.values()];
      const failed = all.filter((c) => c.classList.contains("failed")).length;
      const running = all.filter((c) => c.classList.contains("running")).length;
      summary.textContent = `Tool calls: ${all.length}` + (failed ? `, ${failed} failed` : "") + (running ? " (running…)" : "");
      trace.hidden = all.length === 0;
    };

    const handlers = {
      token(data) {
        turn.streamed += data.text;
        text.textContent = turn.streamed;
      },
      tool_started(data) {
        const line = el("li", { class: "call running", "data-testid": "tool-call" },
          el("span", { class: "mark", "aria-hidden": "true", text: "…" }),
          el("span", { class: "call-name", text: `${data.name}(${argsText(data.arguments)})` }),
          el("span", { class: "secs", text: "running" }));
        calls.set(data.call_id, line);
        traceList.append(line);
        updateSummary();
      },
      tool_finished(data) {
        let line = calls.get(data.call_id);
        if (!line) {
          handlers.tool_started(data);
          line = calls.get(data.call_id);
        }
        line.className = `call ${data.is_error ? "failed" : "ok"}`;
        line.querySelector(".mark").textContent = data.is_error ? "✗" : "✓";
        line.querySelector(".mark").setAttribute("aria-label", data.is_error ? "failed" : "succeeded");
        line.querySelector(".mark").removeAttribute("aria-hidden");
        line.querySelector(".secs").textContent = `${data.seconds.toFixed(2)}s`;
        if (data.is_error) {
          line.append(el("pre", { class: "call-error", text: String(data.text).slice(0, 2000) }));
          trace.open = true; // a failure is worth seeing without a click
        }
        updateSummary();
        const items = itemsOf(data);
        if (items.length) {
          turn.items.push(...items);
          if (state.shown === turn) showData(turn);
        }
      },
      notice(data) {
        extras.before(el("p", { class: "notice", "data-testid": "notice", text: `note: ${data.text}` }));
      },
      answer(data) {
        text.classList.remove("streaming");
        renderMarkdown(text, data.text);
        // Queries the answer's text already cites are not listed twice.
        const uncited = (data.queries || []).filter((q) => !data.text.includes(q));
        if (uncited.length) {
          extras.append(el("div", { class: "queries", "data-testid": "answer-queries" },
            el("h4", { text: "Queries" }), el("ul", {}, ...uncited.map((q) => el("li", {}, el("code", { text: q }))))));
        }
        extras.append(el("p", { class: "answered-by muted", "data-testid": "answer-mode", text: `answered by ${modeLabel(data.mode)}` }));
      },
      error(data) {
        extras.append(el("p", { class: "error", role: "alert", "data-testid": "error", text: `error: ${data.message}` }));
      },
      done() {
        turn.ended = true;
      },
    };

    turn.handle = (event) => {
      (handlers[event.kind] || (() => {}))(event.data);
      scrollDown();
    };
    turn.fail = (message) => handlers.error({ message });
    turn.finish = () => {
      turn.running = false;
      text.classList.remove("streaming");
      box.removeAttribute("aria-busy");
      if (turn.items.length) {
        extras.append(el("button", { type: "button", class: "show-data", "data-testid": "show-data",
          onclick: () => { showData(turn); setPanel(true); } }, `Show data (${turn.items.length})`));
      }
      if (state.shown === turn) showData(turn);
      scrollDown();
    };
    scrollDown();
    return turn;
  }

  // Server-Sent Events from a fetch() body (EventSource cannot POST).
  async function* readEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      buffer = buffer.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let kind = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) kind = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) yield { kind, data: JSON.parse(data.join("\n")) };
      }
      if (done) return;
    }
  }

  async function ask(question) {
    state.busy = true;
    $("ask").disabled = true;
    const turn = newTurn(question);
    showData(turn);
    try {
      const response = await fetch("/api/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ question }),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        turn.fail(body.error || `${response.status} ${response.statusText}`);
      } else {
        for await (const event of readEvents(response)) turn.handle(event);
        if (!turn.ended) turn.fail("the answer stream ended early");
      }
    } catch (error) {
      turn.fail(String(error));
    } finally {
      turn.finish();
      state.busy = false;
      $("ask").disabled = false;
      $("question").focus();
    }
  }

  // ---- layout: divider and collapsible panel ----------------------------------------------------

  function setSplit(percent) {
    const value = Math.min(80, Math.max(20, percent));
    $("split").style.setProperty("--left", `${value}%`);
    $("divider").setAttribute("aria-valuenow", String(Math.round(value)));
  }

  function setPanel(open) {
    $("panel").hidden = !open;
    $("divider").hidden = !open;
    $("split").classList.toggle("collapsed", !open);
    const button = $("toggle-panel");
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "Hide data" : "Show data";
  }

  function setUpLayout() {
    const divider = $("divider");
    let dragging = false;
    divider.addEventListener("pointerdown", (e) => {
      dragging = true;
      divider.setPointerCapture(e.pointerId);
      document.body.classList.add("resizing");
      e.preventDefault();
    });
    divider.addEventListener("pointermove", (e) => {
      if (!dragging) return;
      const box = $("split").getBoundingClientRect();
      setSplit(((e.clientX - box.left) / box.width) * 100);
    });
    const stop = (e) => {
      if (!dragging) return;
      dragging = false;
      if (divider.hasPointerCapture(e.pointerId)) divider.releasePointerCapture(e.pointerId);
      document.body.classList.remove("resizing");
    };
    divider.addEventListener("pointerup", stop);
    divider.addEventListener("pointercancel", stop);
    divider.addEventListener("keydown", (e) => {
      const now = Number(divider.getAttribute("aria-valuenow"));
      const next = { ArrowLeft: now - 2, ArrowRight: now + 2, Home: 20, End: 80 }[e.key];
      if (next !== undefined) {
        setSplit(next);
        e.preventDefault();
      }
    });
    $("toggle-panel").addEventListener("click", () => setPanel($("panel").hidden));
  }

  // ---- start ------------------------------------------------------------------------------------

  function start() {
    setUpLayout();
    const form = $("ask-form");
    const input = $("question");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const question = input.value.trim();
      if (!question || state.busy) return;
      input.value = "";
      ask(question);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    fetch("/api/mode")
      .then((r) => r.json())
      .then((body) => {
        $("mode").textContent = modeLabel(body.mode);
        $("mode").dataset.mode = body.mode;
        for (const note of body.notes || []) {
          $("mode").after(el("span", { class: "setup-note", "data-testid": "setup-note", text: note }));
        }
      })
      .catch(() => { $("mode").textContent = "mode unknown"; });
    input.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
