// Renders every .chart on the page with uPlot from the JSON in its
// data-spec attribute:
// {x: [unix seconds], series: [{label, values, color, points_only}],
//  bands: [[upper, lower]], marks: [{x, label}], y_label}.
// After drawing, a chart's data-points attribute counts its plotted values
// (the browser test reads it).
(function () {
  var colors = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#854d0e", "#be185d"];
  function fmt(v) {
    if (v == null) return "–";
    return String(+v.toPrecision(4));
  }
  function render(el) {
    var spec = JSON.parse(el.dataset.spec);
    var series = [{ label: "time", value: function (u, v) { return v == null ? "" : new Date(v * 1000).toISOString().slice(0, 16).replace("T", " "); } }];
    var data = [spec.x || []];
    var points = 0;
    spec.series.forEach(function (s, i) {
      var color = s.color || colors[i % colors.length];
      var o = { label: s.label, stroke: color, width: 2, value: function (u, v) { return fmt(v); }, spanGaps: true };
      if (s.points_only) {
        o.width = 0;
        o.paths = function () { return null; };
        o.points = { show: true, size: 9, fill: color, stroke: color };
      }
      if (s.band) { o.width = 1; o.dash = [4, 4]; }
      series.push(o);
      data.push(s.values || []);
      (s.values || []).forEach(function (v) { if (v != null) points++; });
    });
    var bands = (spec.bands || []).map(function (b) { return { series: b, fill: "rgba(37, 99, 235, 0.12)" }; });
    var marks = spec.marks || [];
    var plot = el.querySelector(".plot");
    var opts = {
      width: Math.max(320, plot.clientWidth || 900),
      height: 260,
      series: series,
      bands: bands,
      // One run (or runs at one time) would give uPlot an empty x range,
      // which it widens by years: show an hour on each side instead.
      scales: { x: { time: true, range: function (u, lo, hi) {
        if (lo == null || hi == null) return [lo, hi];
        return lo === hi ? [lo - 3600, hi + 3600] : [lo, hi];
      } } },
      axes: [{ label: "time" }, { label: spec.y_label || "" }],
      hooks: {
        draw: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "#ea580c";
          ctx.fillStyle = "#ea580c";
          ctx.setLineDash([6, 4]);
          ctx.font = "11px sans-serif";
          marks.forEach(function (m) {
            var cx = u.valToPos(m.x, "x", true);
            ctx.beginPath();
            ctx.moveTo(cx, u.bbox.top);
            ctx.lineTo(cx, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.fillText(m.label, cx + 4, u.bbox.top + 12);
          });
          ctx.restore();
        }]
      }
    };
    new uPlot(opts, data, plot);
    el.dataset.points = String(points);
    el.dataset.rendered = "true";
  }
  document.querySelectorAll(".chart").forEach(function (el) {
    try { render(el); } catch (e) { el.dataset.error = String(e); }
  });
})();
