// The draw page: a canvas, POST /api/predict on every stroke's end, and what the network saw.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const pad = $("pad");
  const ctx = pad.getContext("2d");
  let drawing = false, last = null, busy = false, again = false, lastResult = null, model = null;
  let hasInk = false;

  function clearPad() {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, pad.width, pad.height);
    hasInk = false;
  }

  function point(e) {
    const r = pad.getBoundingClientRect();
    return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
  }

  function line(a, b, pressure) {
    ctx.strokeStyle = "#000";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = 18 * (pressure > 0 && pressure !== 0.5 ? 0.6 + pressure * 0.8 : 1);
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
    hasInk = true;
  }

  pad.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    drawing = true;
    last = point(e);
    line(last, last, e.pressure);
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = point(e);
    line(last, p, e.pressure);
    last = p;
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    $("truth").hidden = true;
    predictCanvas();
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);

  function setMessage(text, isBusy) {
    const m = $("message");
    m.textContent = text || "";
    m.classList.toggle("busy", !!isBusy);
  }

  function predictCanvas() {
    if (!hasInk) return;
    if (busy) { again = true; return; }
    busy = true;
    setMessage(I18N.t("thinking"), true);
    pad.toBlob(async (blob) => {
      try {
        const r = await fetch("/api/predict", { method: "POST", body: blob, headers: { "Content-Type": "image/png" } });
        const data = await r.json();
        if (!r.ok) throw new Error(data.detail || r.statusText);
        setMessage("");
        show(data);
      } catch (err) {
        setMessage(`${I18N.t("error")}: ${err.message}`);
      } finally {
        busy = false;
        if (again) { again = false; predictCanvas(); }
      }
    }, "image/png");
  }

  async function sample() {
    setMessage(I18N.t("thinking"), true);
    try {
      const r = await fetch("/api/sample");
      const data = await r.json();
      if (!r.ok) throw new Error(data.detail || r.statusText);
      setMessage("");
      // the test image as dark ink on white paper, so further strokes add to it
      const img = ctx.createImageData(28, 28);
      data.input.forEach((row, i) => row.forEach((v, j) => {
        const g = 255 - Math.round(v * 255), k = 4 * (i * 28 + j);
        img.data[k] = img.data[k + 1] = img.data[k + 2] = g; img.data[k + 3] = 255;
      }));
      const tmp = document.createElement("canvas");
      tmp.width = tmp.height = 28;
      tmp.getContext("2d").putImageData(img, 0, 0);
      clearPad();
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(tmp, 0, 0, pad.width, pad.height);
      hasInk = true;
      const truth = $("truth");
      truth.hidden = false;
      truth.dataset.label = data.label_name;
      truth.dataset.pred = data.class_name;
      truth.dataset.index = data.index;
      renderTruth();
      show(data);
    } catch (err) {
      setMessage(`${I18N.t("error")}: ${err.message}`);
    }
  }

  function renderTruth() {
    const t = $("truth");
    if (t.hidden) return;
    const ok = t.dataset.label === t.dataset.pred;
    t.className = "truth " + (ok ? "correct" : "wrong");
    t.textContent = `${I18N.t("truth")}: ${t.dataset.label} · ${I18N.t("predicted_as")}: ${t.dataset.pred} (${I18N.t(ok ? "correct" : "wrong")}) · #${t.dataset.index}`;
  }

  function grayCanvas(map, scale) {
    const h = map.length, w = map[0].length;
    const c = document.createElement("canvas");
    c.width = w; c.height = h;
    c.style.width = `${w * scale}px`; c.style.height = `${h * scale}px`;
    const g = c.getContext("2d"), img = g.createImageData(w, h);
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      const k = 4 * (i * w + j), v = map[i][j];
      img.data[k] = img.data[k + 1] = img.data[k + 2] = v; img.data[k + 3] = 255;
    }
    g.putImageData(img, 0, 0);
    return c;
  }

  function drawInput(rows) {
    const c = $("input"), g = c.getContext("2d");
    const tmp = grayCanvas(rows.map((r) => r.map((v) => Math.round(v * 255))), 1);
    g.imageSmoothingEnabled = false;
    g.clearRect(0, 0, c.width, c.height);
    g.drawImage(tmp, 0, 0, c.width, c.height);
  }

  function bars(probabilities, names) {
    const box = $("bars");
    box.textContent = "";
    const top = probabilities.indexOf(Math.max(...probabilities));
    probabilities.forEach((p, k) => {
      const label = document.createElement("span");
      label.className = "label"; label.textContent = names[k] ?? String(k);
      const track = document.createElement("div"); track.className = "track";
      const fill = document.createElement("div"); fill.className = "fill" + (k === top ? " top" : "");
      fill.style.width = `${(100 * p).toFixed(1)}%`;
      fill.dataset.k = k;
      track.appendChild(fill);
      const value = document.createElement("span");
      value.className = "value"; value.textContent = `${(100 * p).toFixed(1)}%`;
      box.append(label, track, value);
    });
  }

  function mapLayer(layer) {
    const div = document.createElement("div");
    div.className = "layer";
    const h = document.createElement("h3");
    const [C, H, W] = layer.shape;
    h.textContent = `${I18N.t("feature_maps")}: ${layer.name} (${layer.type}) `;
    const dim = document.createElement("span");
    dim.className = "dim";
    dim.textContent = `${C} ${I18N.t("channels")} × ${H}×${W}` + (layer.shown < C ? ` · ${layer.shown} ${I18N.t("shown")}` : "");
    h.appendChild(dim);
    const grid = document.createElement("div");
    grid.className = "grid";
    const scale = Math.max(1, Math.floor(56 / H));
    layer.maps.forEach((m) => grid.appendChild(grayCanvas(m, scale)));
    div.append(h, grid);
    return div;
  }

  function hiddenLayer(layer) {
    const div = document.createElement("div");
    div.className = "layer";
    const h = document.createElement("h3");
    h.textContent = `${I18N.t("hidden_units")}: ${layer.name} (${layer.type}) `;
    const dim = document.createElement("span");
    dim.className = "dim";
    dim.textContent = `${layer.size} ${I18N.t("units")}` + (layer.values.length < layer.size ? ` · ${layer.values.length} ${I18N.t("shown")}` : "");
    h.appendChild(dim);
    const units = document.createElement("div");
    units.className = "units";
    const top = Math.max(1e-9, ...layer.values.map(Math.abs));
    layer.values.forEach((v) => {
      const b = document.createElement("div");
      b.style.height = `${Math.round(60 * Math.abs(v) / top)}px`;
      b.title = v.toFixed(3);
      units.appendChild(b);
    });
    div.append(h, units);
    return div;
  }

  function show(data) {
    lastResult = data;
    $("predicted").textContent = data.class_name;
    bars(data.probabilities, (model && model.class_names) || []);
    drawInput(data.input);
    const maps = $("maps"), hidden = $("hidden");
    maps.textContent = ""; hidden.textContent = "";
    data.activations.maps.forEach((l) => maps.appendChild(mapLayer(l)));
    data.activations.hidden.forEach((l) => hidden.appendChild(hiddenLayer(l)));
    $("inside-empty").hidden = true;
    document.body.dataset.predictions = String(Number(document.body.dataset.predictions || 0) + 1);
  }

  function showModel() {
    if (!model) return;
    $("model-info").textContent = `${I18N.t("model")}: ${model.name} (${model.class}, ${model.parameters.toLocaleString()} ${I18N.t("parameters")}) · ${I18N.t("from")}: ${model.source}`;
    const f = model.filters;
    if (!f) { $("filters-box").hidden = true; return; }
    $("filters-box").querySelector("[data-i18n]").textContent = I18N.t(f.kind === "conv" ? "filters" : "filters_linear");
    $("filters-shape").textContent = `(${f.shape.join("×")})` + (f.shown < f.shape[f.kind === "conv" ? 0 : 1] ? ` · ${f.shown} ${I18N.t("shown")}` : "");
    const grid = $("filters");
    grid.textContent = "";
    const side = f.maps[0].length;
    f.maps.forEach((m) => grid.appendChild(grayCanvas(m, Math.max(1, Math.floor(40 / side)))));
  }

  I18N.onChange(() => { showModel(); renderTruth(); if (lastResult) show(lastResult); });
  $("clear").addEventListener("click", () => {
    clearPad(); $("truth").hidden = true; setMessage("");
  });
  $("sample").addEventListener("click", sample);
  clearPad();
  bars(new Array(10).fill(0), []);
  fetch("/api/model").then((r) => r.json()).then((m) => { model = m; showModel(); bars(new Array(m.class_names.length).fill(0), m.class_names); document.body.dataset.ready = "1"; })
    .catch((err) => setMessage(`${I18N.t("error")}: ${err.message}`));
})();
