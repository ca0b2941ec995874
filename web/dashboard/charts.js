// SPDX-License-Identifier: MIT
// charts.js -- small SVG bar charts drawn here (no library, nothing fetched): stacked
// bars with a y scale, x labels, a <title> per segment and a legend. Colours come from
// classes (.series-0 ...) in app.css: the CSP forbids inline style.

const NS = 'http://www.w3.org/2000/svg';
const W = 720;
const H = 240;
const PAD = { left: 56, right: 12, top: 12, bottom: 36 };

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A "nice" upper bound for the axis: 1, 2 or 5 times a power of ten, at least max. */
function niceMax(max) {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/**
 * Stacked bar chart. buckets: [{ label, values: { seriesKey: number } }], series: the
 * keys in stacking order, format(n): axis and tooltip text. Returns a <figure>.
 */
export function barChart({ title, id, buckets, series, format = String }) {
  const fig = document.createElement('figure');
  fig.className = 'chart';
  if (id) fig.id = id;
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  fig.append(cap);

  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'bars' });
  const totals = buckets.map((b) => series.reduce((s, k) => s + (b.values[k] || 0), 0));
  const top = niceMax(Math.max(0, ...totals));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const y = (v) => PAD.top + plotH - (v / top) * plotH;

  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(el('text', { x: PAD.left - 6, y: y(v) + 4, class: 'ylabel', 'text-anchor': 'end' }, format(v)));
  }
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(2, slot * 0.7);
  const every = Math.ceil(buckets.length / 12);
  buckets.forEach((b, i) => {
    const g = el('g', { class: 'bar', 'data-label': b.label, 'data-total': totals[i] });
    const x = PAD.left + i * slot + (slot - barW) / 2;
    let acc = 0;
    series.forEach((k, si) => {
      const v = b.values[k] || 0;
      if (v <= 0) return;
      const r = el('rect', {
        x, y: y(acc + v), width: barW, height: Math.max(0, y(acc) - y(acc + v)),
        class: `seg series-${si % 8}`, 'data-series': k,
      });
      r.append(el('title', {}, `${b.label} · ${k}: ${format(v)}`));
      g.append(r);
      acc += v;
    });
    g.append(el('title', {}, `${b.label}: ${format(totals[i])}`));
    svg.append(g);
    if (i % every === 0) {
      svg.append(el('text', { x: x + barW / 2, y: H - PAD.bottom + 16, class: 'xlabel', 'text-anchor': 'middle' }, b.label));
    }
  });
  svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0), class: 'axis' }));
  fig.append(svg);

  const legend = document.createElement('ul');
  legend.className = 'legend';
  series.forEach((k, si) => {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = `swatch series-${si % 8}`;
    li.append(sw, document.createTextNode(k));
    legend.append(li);
  });
  if (series.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'no orders in this range';
    legend.append(li);
  }
  fig.append(legend);
  return fig;
}
