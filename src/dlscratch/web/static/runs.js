// The runs page: GET /api/runs, learning curves from /api/runs/{name}/metrics, the run's PNGs.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const COLORS = ["#2f6fde", "#e0662f"];
  const PLOTS = { confusion_matrix: "confusion_matrix", misclassified: "misclassified", filters: "filters_png" };
  let runs = [], selected = [], metrics = {}, timer = null;

  function status(run) {
    if (run.running) return ["running", "status-running"];
    return run.has_model ? ["finished", ""] : ["stopped", ""];
  }

  function renderTable() {
    const body = $("runs").querySelector("tbody");
    body.textContent = "";
    $("no-runs").hidden = runs.length > 0;
    runs.forEach((run) => {
      const tr = document.createElement("tr");
      tr.dataset.name = run.name;
      tr.classList.toggle("selected", selected.includes(run.name));
      const box = document.createElement("input");
      box.type = "checkbox"; box.checked = selected.includes(run.name);
      box.setAttribute("aria-label", run.name);
      box.addEventListener("change", () => toggle(run.name, box.checked));
      const [key, cls] = status(run);
      const cells = [box, run.name, run.model ?? "?", run.dataset ?? "?",
        `${run.epochs_done} / ${run.epochs ?? "?"}`,
        run.test_acc === null ? "–" : run.test_acc.toFixed(4), I18N.t(key)];
      cells.forEach((c, i) => {
        const td = document.createElement("td");
        if (c instanceof Node) td.appendChild(c); else td.textContent = c;
        if (i === 4 || i === 5) td.className = "num";
        if (i === 6 && cls) td.className = cls;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function toggle(name, on) {
    selected = selected.filter((n) => n !== name);
    if (on) { selected.push(name); if (selected.length > 2) selected.shift(); }
    renderTable();
    refreshSelected().then(renderDetail);
  }

  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
  }

  async function refreshSelected() {
    await Promise.all(selected.map(async (name) => {
      try { metrics[name] = await getJSON(`/api/runs/${encodeURIComponent(name)}/metrics`); } catch (e) { delete metrics[name]; }
    }));
  }

  function series(column, dashTest) {
    const out = [];
    selected.forEach((name, i) => {
      const m = metrics[name] && metrics[name].metrics;
      if (!m || !m.epoch) return;
      [["train", false], ["test", dashTest]].forEach(([part, dash]) => {
        const ys = m[`${part}_${column}`];
        if (!ys) return;
        out.push({ color: COLORS[i], dash, points: m.epoch.map((x, k) => ({ x, y: ys[k] })) });
      });
    });
    return out;
  }

  function renderDetail() {
    $("detail").hidden = selected.length === 0;
    if (!selected.length) return;
    const opts = { xLabel: I18N.t("epoch"), empty: I18N.t("no_metrics") };
    LineChart.draw($("chart-loss"), series("loss", true), opts);
    LineChart.draw($("chart-acc"), series("acc", true), opts);
    const legend = $("legend");
    legend.textContent = "";
    selected.forEach((name, i) => {
      const sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = COLORS[i];
      legend.append(sw, document.createTextNode(name));
    });
    legend.append(document.createTextNode(`  —  ${I18N.t("train")}: ─── · ${I18N.t("test")}: - - -`));
    const plots = $("plots");
    plots.textContent = "";
    selected.forEach((name) => {
      const run = runs.find((r) => r.name === name);
      if (!run) return;
      const h = document.createElement("h3"); h.textContent = name;
      const box = document.createElement("div"); box.className = "plots";
      Object.entries(PLOTS).forEach(([plot, key]) => {
        if (!run.plots.includes(plot)) return;
        const fig = document.createElement("figure");
        const img = document.createElement("img");
        img.src = `/api/runs/${encodeURIComponent(name)}/plots/${plot}?t=${Math.round(run.modified || 0)}`;
        img.alt = I18N.t(key);
        const cap = document.createElement("figcaption"); cap.textContent = I18N.t(key);
        fig.append(img, cap); box.appendChild(fig);
      });
      if (!box.children.length) {
        const none = document.createElement("p"); none.className = "dim"; none.textContent = I18N.t("no_plots");
        box.appendChild(none);
      }
      plots.append(h, box);
    });
    document.body.dataset.charted = String(selected.length);
  }

  async function refresh() {
    try {
      const data = await getJSON("/api/runs");
      $("runs-dir").textContent = `(${data.runs_dir})`;
      runs = data.runs;
      selected = selected.filter((n) => runs.some((r) => r.name === n));
      if (!selected.length && runs.length) selected = [runs[0].name];
      renderTable();
      await refreshSelected();
      renderDetail();
    } catch (e) { /* the server may be restarting: try again at the next tick */ }
    const live = runs.some((r) => r.running);
    clearTimeout(timer);
    timer = setTimeout(refresh, live ? 3000 : 10000);
    document.body.dataset.ready = "1";
  }

  I18N.onChange(() => { renderTable(); renderDetail(); });
  window.addEventListener("resize", renderDetail);
  refresh();
})();
