'use strict';
// examples/dashboard/public/app.js -- the pages.  "/" lists the experiments,
// "/experiments/<id>" shows one.  Both listen to the server's events
// (/api/events) and draw whatever arrives: the server sends the numbers when
// the page opens and again after each change of the experiment, at most
// once a second.  No credentials here: the page talks to its server only.
//
// Every number is drawn in a cell with data-field (its column in
// abt_metric_stats / abt_variant_stats) and data-value (the value as the
// server sent it), so a test can read them back.

const main = document.getElementById('main');
const live = document.getElementById('live');
const path = location.pathname;
const experimentId = (path.match(/^\/experiments\/([0-9a-f-]{36})$/i) || [])[1];
let chart = null;
let updates = 0;

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const int = (s) => (s === null || s === undefined ? '–' : BigInt(s).toLocaleString('en-US'));
const fixed = (x, d) => (x === null || x === undefined ? '–' : Number(x).toFixed(d));
const pct = (x) => (x === null || x === undefined ? '–' : `${x > 0 ? '+' : ''}${(100 * x).toFixed(1)}%`);
const statusBadge = (s) => `<span class="status status-${esc(s)}" data-field="status" data-value="${esc(s)}">${esc(s)}</span>`;
const cell = (field, value, text, cls = '') =>
  `<td class="${cls}" data-field="${field}" data-value="${esc(value === null ? '' : value)}">${text}</td>`;

function connect(topic, render) {
  const es = new EventSource(`/api/events?topic=${encodeURIComponent(topic)}`);
  es.onopen = () => { live.dataset.state = 'live'; live.textContent = 'live'; };
  es.onerror = () => { live.dataset.state = 'connecting'; live.textContent = 'reconnecting'; };
  es.onmessage = (ev) => {
    const data = JSON.parse(ev.data);
    render(data);
    updates++;
    document.body.dataset.updates = String(updates);
    document.body.dataset.computedAt = data ? data.computedAt : '';
  };
}

// ------------------------------------------------------------ the list

function renderList(data) {
  const rows = data.experiments.map((e) => `
    <tr data-experiment="${esc(e.id)}">
      <td class="name"><a href="/experiments/${esc(e.id)}">${esc(e.name)}</a></td>
      <td class="name">${statusBadge(e.status)}</td>
      ${cell('visitors', e.visitors, int(e.visitors))}
      <td>${esc(new Date(e.created_at).toISOString().slice(0, 16).replace('T', ' '))} UTC</td>
    </tr>`).join('');
  main.innerHTML = `
    <h1>Experiments</h1>
    <p class="meta">${data.experiments.length} experiment(s) · updated ${esc(data.computedAt)}</p>
    <table id="experiments"><thead><tr><th class="name">Experiment</th><th class="name">Status</th>
      <th>Visitors</th><th>Created</th></tr></thead><tbody>${rows}</tbody></table>`;
}

// ------------------------------------------------------- one experiment

// The interval [lo, hi] and the uplift as a bar against zero, on a scale
// shared by the table (max |bound|).
function ciBar(m, scale) {
  if (m.ci_low === null || m.ci_high === null) return '';
  const w = 150, h = 14, x = (v) => w / 2 + (v / scale) * (w / 2 - 4);
  const color = m.ci_low > 0 ? '#16a34a' : m.ci_high < 0 ? '#dc2626' : '#94a3b8';
  return `<svg width="${w}" height="${h}" role="img" aria-label="interval ${pct(m.ci_low)} to ${pct(m.ci_high)}">
    <line x1="${w / 2}" x2="${w / 2}" y1="0" y2="${h}" stroke="#111827" stroke-width="1"/>
    <rect x="${x(m.ci_low)}" y="3" width="${Math.max(1, x(m.ci_high) - x(m.ci_low))}" height="${h - 6}" rx="2" fill="${color}" opacity="0.75"/>
    <circle cx="${x(m.uplift)}" cy="${h / 2}" r="2.5" fill="#111827"/></svg>`;
}

function metricTable(rows) {
  const scale = Math.max(0.01, ...rows.filter((m) => !m.is_control && m.ci_low !== null)
    .map((m) => Math.max(Math.abs(m.ci_low), Math.abs(m.ci_high))));
  const body = rows.map((m) => {
    const ctl = m.is_control;
    const sign = !ctl && m.uplift !== null ? (m.uplift > 0 ? 'pos' : m.uplift < 0 ? 'neg' : '') : '';
    return `<tr class="${ctl ? 'control' : ''}" data-element="${esc(m.element_id)}" data-variant="${esc(m.variant_id)}"
                data-goal="${esc(m.goal)}" data-metric="${esc(m.metric)}">
      <td class="name">${esc(m.variant_name)}${ctl ? ' <span class="goal">(control)</span>' : ''}</td>
      ${cell('visitors', m.visitors, int(m.visitors))}
      ${cell('converters', m.converters, int(m.converters))}
      ${cell('mean', m.mean, fixed(m.mean, 4))}
      ${cell('uplift', m.uplift, ctl ? '' : pct(m.uplift), sign)}
      <td class="ci" data-field="ci" data-low="${esc(m.ci_low ?? '')}" data-high="${esc(m.ci_high ?? '')}"
          title="${ctl ? '' : `${pct(m.ci_low)} … ${pct(m.ci_high)}`}">${ctl ? '' : ciBar(m, scale)}</td>
      ${cell('ci_text', null, ctl ? '' : `${pct(m.ci_low)} … ${pct(m.ci_high)}`)}
      ${cell('p_value', m.p_value, fixed(m.p_value, 4))}
      ${cell('p_value_holm', m.p_value_holm, fixed(m.p_value_holm, 4))}
      ${cell('p_value_bh', m.p_value_bh, fixed(m.p_value_bh, 4))}
      ${cell('chance_to_beat_control', m.chance_to_beat_control,
             m.chance_to_beat_control === null ? '–' : `${(100 * m.chance_to_beat_control).toFixed(1)}%`)}
      ${cell('is_sequential', m.is_sequential, m.is_sequential ? 'yes' : 'no', 'seq')}
    </tr>`;
  }).join('');
  return `<table class="metric"><thead><tr><th class="name">Variant</th><th>Visitors</th><th>Converters</th>
    <th>Mean</th><th>Uplift</th><th>95% interval</th><th></th><th>p-value</th><th>Holm</th><th>BH</th>
    <th>Chance to beat control</th><th>Sequential</th></tr></thead><tbody>${body}</tbody></table>`;
}

function renderExperiment(d) {
  if (!d) { main.innerHTML = '<h1>Not found</h1><p><a href="/">All experiments</a></p>'; return; }
  // elements in the order abt_variant_stats gives them, with their SRM
  const elements = [];
  const byElement = new Map();
  for (const v of d.variants) {
    if (!byElement.has(v.element_id)) {
      const e = { id: v.element_id, name: v.element_name, srm: v.srm_p_value, variants: [] };
      byElement.set(v.element_id, e);
      elements.push(e);
    }
    byElement.get(v.element_id).variants.push(v);
  }
  const sections = elements.map((e) => {
    const warn = e.srm !== null && e.srm < 0.001;
    const groups = new Map();
    for (const m of d.metrics.filter((x) => x.element_id === e.id)) {
      const k = `${m.goal}\u0000${m.metric}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(m);
    }
    const tables = [...groups.values()].map((rows) =>
      `<h2>${esc(e.name)} <span class="goal">· goal ${esc(rows[0].goal)} · ${esc(rows[0].metric.replace(/_/g, ' '))}</span></h2>
       ${metricTable(rows)}`).join('');
    return `<section data-element="${esc(e.id)}">
      <p class="srm ${warn ? 'warn' : ''}" data-field="srm_p_value" data-value="${esc(e.srm ?? '')}">
        ${esc(e.name)}: ${e.variants.map((v) => `${esc(v.variant_name)} ${int(v.allocations)}`).join(' · ')} visitors ·
        SRM p-value ${fixed(e.srm, 4)}${warn ? ' — sample ratio mismatch: the split is not what the weights say, do not trust these results' : ''}</p>
      ${tables || '<p class="meta">No visitors yet.</p>'}</section>`;
  }).join('');
  const seq = d.sequential ? 'sequential tests (safe to look at any time)' : 'fixed-horizon tests';
  if (chart) { chart.destroy(); chart = null; }
  main.innerHTML = `
    <p class="meta"><a href="/">All experiments</a></p>
    <h1 id="title">${esc(d.name)} ${statusBadge(d.status)}</h1>
    <p class="meta">abt_metric_stats, ${seq}; updated <span id="computed">${esc(d.computedAt)}</span></p>
    ${sections}
    <h2>Hourly timeline <span class="goal">· abt_timeline, new visitors per hour and their conversions</span></h2>
    <div class="chart"><canvas id="timeline"></canvas></div>`;
  drawTimeline(d.timeline);
}

function drawTimeline(rows) {
  if (typeof Chart === 'undefined') return;
  const labels = rows.map((r) => new Date(r.bucket).toISOString().slice(11, 16));
  chart = new Chart(document.getElementById('timeline'), {
    data: {
      labels,
      datasets: [
        { type: 'bar', label: 'new visitors', data: rows.map((r) => Number(r.assignments)), backgroundColor: '#93c5fd', yAxisID: 'y' },
        { type: 'bar', label: 'their conversions', data: rows.map((r) => Number(r.conversions)), backgroundColor: '#1d4ed8', yAxisID: 'y' },
        { type: 'line', label: 'conversion rate %', data: rows.map((r) => 100 * r.conversion_rate), borderColor: '#f59e0b', backgroundColor: '#f59e0b', yAxisID: 'y1', tension: 0.2 },
      ],
    },
    options: {
      animation: false, maintainAspectRatio: false, responsive: true,
      scales: { y: { beginAtZero: true, title: { display: true, text: 'visitors' } },
                y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: '%' } } },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

if (experimentId) connect(experimentId, renderExperiment);
else connect('list', renderList);
