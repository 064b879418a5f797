"""The report page's style sheet, its slider script and its Content-Security-Policy, inlined into
every page so the file needs nothing but itself."""

# No network at all: only the page's own inline style and script, and data: images.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1400px;padding:0 18px 40px;color:#222}
h1{font-size:22px;margin:18px 0 2px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd}h3{font-size:14px;margin:12px 0 4px}
header p,.hint{color:#666;margin:2px 0 8px}.note{background:#fff4d6;padding:4px 8px}
table{border-collapse:collapse;margin:4px 0}th,td{padding:3px 9px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #ccc}td.path{color:#666;font-size:12px}
#final td .v{font-variant-numeric:tabular-nums}#final td .ref{display:block;color:#777;font-size:12px}#final td.best .v{font-weight:700}
td.source{color:#666;font-size:12px}
tr.differs th,tr.differs td{background:#fff1c2}tr.differs th::before{content:'\\2260 ';color:#b07000}
.legend{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:4px 16px}
.grids{display:flex;flex-wrap:wrap;gap:18px}figure.frames{margin:0}figure.frames figcaption{font-weight:600;margin-bottom:4px}
figure.frames img{display:block;image-rendering:pixelated;min-width:160px;max-width:420px;border:1px solid #ddd}
figure.frames img[hidden]{display:none}figure.frames label{display:block;margin-top:4px}input[type=range]{width:220px;vertical-align:middle}
.plots{display:flex;flex-wrap:wrap;gap:8px}svg.plot{background:#fff;font-size:11px}svg.plot text{fill:#444}
svg.plot .title{font-size:13px;font-weight:600;fill:#222}svg.plot .frame{fill:none;stroke:#bbb}svg.plot .grid{stroke:#eee}
svg.plot .none{fill:#999}svg.swatch{vertical-align:middle}
"""

# Each run's slider shows one of its grids; the "all runs" slider moves every run to its latest
# grid at or before the chosen step. Reads only the page's own elements.
SCRIPT = """
(function () {
  var boxes = Array.prototype.slice.call(document.querySelectorAll('figure.frames'));
  boxes.forEach(function (box) {
    var imgs = box.querySelectorAll('.imgs img'), slider = box.querySelector('input.frame'), label = box.querySelector('output.step');
    box.show = function (k) {
      for (var j = 0; j < imgs.length; j++) { imgs[j].hidden = j !== k; }
      slider.value = k;
      label.textContent = imgs[k].getAttribute('data-step');
    };
    box.steps = Array.prototype.map.call(imgs, function (im) { return +im.getAttribute('data-step'); });
    slider.addEventListener('input', function () { box.show(+slider.value); });
  });
  var all = document.getElementById('all-steps');
  if (!all) { return; }
  var steps = all.getAttribute('data-steps').split(',').map(Number), out = document.getElementById('all-step');
  all.addEventListener('input', function () {
    var step = steps[+all.value];
    out.textContent = step;
    boxes.forEach(function (box) {
      var k = 0;
      for (var j = 0; j < box.steps.length; j++) { if (box.steps[j] <= step) { k = j; } }
      box.show(k);
    });
  });
})();
"""
