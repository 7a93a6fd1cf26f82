// A small line chart on a canvas (no library): series of {x, y} with colour and dash.
"use strict";
const LineChart = {
  draw(canvas, series, opts) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 400, h = canvas.clientHeight || 260;
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const pts = series.flatMap((s) => s.points.filter((p) => p.y !== null && Number.isFinite(p.y)));
    const pad = { l: 52, r: 12, t: 12, b: 34 };
    g.font = "12px system-ui, sans-serif";
    g.fillStyle = "#6b7385";
    if (!pts.length) { g.fillText(opts.empty || "", pad.l, h / 2); return; }
    let x0 = Math.min(...pts.map((p) => p.x)), x1 = Math.max(...pts.map((p) => p.x));
    let y0 = Math.min(...pts.map((p) => p.y)), y1 = Math.max(...pts.map((p) => p.y));
    if (opts.yMin !== undefined) y0 = Math.min(y0, opts.yMin);
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
    const m = (y1 - y0) * 0.05; y0 -= opts.yMin !== undefined ? 0 : m; y1 += m;
    const X = (x) => pad.l + (x - x0) / (x1 - x0) * (w - pad.l - pad.r);
    const Y = (y) => h - pad.b - (y - y0) / (y1 - y0) * (h - pad.t - pad.b);
    // grid and ticks
    g.strokeStyle = "#e6e9ef"; g.lineWidth = 1;
    const ticks = LineChart.ticks(y0, y1, 5);
    g.textAlign = "right"; g.textBaseline = "middle";
    ticks.forEach((v) => {
      g.beginPath(); g.moveTo(pad.l, Y(v)); g.lineTo(w - pad.r, Y(v)); g.stroke();
      g.fillText(LineChart.fmt(v), pad.l - 6, Y(v));
    });
    const xt = LineChart.ticks(x0, x1, Math.min(8, Math.max(2, Math.round(x1 - x0)))).filter((v) => Number.isInteger(v));
    g.textAlign = "center"; g.textBaseline = "top";
    xt.forEach((v) => g.fillText(String(v), X(v), h - pad.b + 6));
    g.fillText(opts.xLabel || "", (pad.l + w - pad.r) / 2, h - 16);
    g.strokeStyle = "#9aa3b2";
    g.beginPath(); g.moveTo(pad.l, pad.t); g.lineTo(pad.l, h - pad.b); g.lineTo(w - pad.r, h - pad.b); g.stroke();
    // series
    series.forEach((s) => {
      const p = s.points.filter((q) => q.y !== null && Number.isFinite(q.y));
      g.strokeStyle = s.color; g.fillStyle = s.color; g.lineWidth = 2;
      g.setLineDash(s.dash ? [6, 4] : []);
      g.beginPath();
      p.forEach((q, i) => (i ? g.lineTo(X(q.x), Y(q.y)) : g.moveTo(X(q.x), Y(q.y))));
      g.stroke();
      g.setLineDash([]);
      p.forEach((q) => { g.beginPath(); g.arc(X(q.x), Y(q.y), 2.5, 0, 2 * Math.PI); g.fill(); });
    });
  },
  ticks(lo, hi, n) {
    const span = hi - lo, raw = span / Math.max(1, n);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => span / s <= n) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  },
  fmt(v) { return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString(); },
};
