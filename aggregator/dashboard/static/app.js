// Wisp marketer dashboard. One hand-written script, no framework, no build
// step, nothing from another origin: it reads the aggregator's REST API with
// the signed-in token and draws everything as DOM and inline SVG.
'use strict';
(function () {
  const TOKEN_KEY = 'wisp.token';
  const SVGNS = 'http://www.w3.org/2000/svg';
  const COLORS = ['#2f6fde', '#e07a1f', '#2e9d5b', '#b3359b', '#6b5bd6', '#c23b3b', '#3a9fb0', '#8a6d1f'];

  // ---- API -------------------------------------------------------------

  class APIError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
      this.status = status;
      this.problem = problem || {};
    }
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  async function request(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (token()) headers.Authorization = 'Bearer ' + token();
    const init = { method, headers };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    const type = resp.headers.get('Content-Type') || '';
    let data = null;
    if (type.includes('json')) data = await resp.json().catch(() => null);
    else data = await resp.text();
    if (!resp.ok) throw new APIError(resp.status, typeof data === 'object' ? data : { title: resp.statusText, detail: data });
    return data;
  }

  // campaignOf flattens a campaign listing entry: the API wraps the
  // campaign config with its tenant and creation time.
  function campaignOf(item) {
    let c = item && item.campaign !== undefined ? item.campaign : item;
    if (typeof c === 'string') {
      try { c = JSON.parse(atob(c)); } catch (e) { c = {}; }
    }
    return Object.assign({}, c, { tenant: item.tenant || c.tenant, created_at: item.created_at, state: item.state || 'active', state_changed_at: item.state_changed_at });
  }

  const api = {
    get: (p) => request('GET', p),
    post: (p, b) => request('POST', p, b),
    // whoami tells the token's role and tenant. Operator-only routes answer
    // 403 to a marketer, which is how the role is told when the server has
    // no /v1/whoami.
    async whoami() {
      try { return await api.get('/v1/whoami'); } catch (e) {
        if (e.status !== 404 && e.status !== 405) throw e;
      }
      try {
        await api.get('/v1/tokens');
        return { role: 'operator' };
      } catch (e) {
        if (e.status === 403) return { role: 'marketer' };
        throw e;
      }
    },
    async campaigns() {
      const d = await api.get('/v1/campaigns');
      return (Array.isArray(d) ? d : (d.campaigns || [])).map(campaignOf);
    },
    async segments() {
      const d = await api.get('/v1/segments');
      return Array.isArray(d) ? d : (d.segments || []);
    },
    // createCampaign registers c; an operator names the tenant.
    createCampaign: (c, tenant) => api.post('/v1/campaigns', tenant ? { tenant, campaign: c } : { campaign: c }),
    async policy() {
      const d = await api.get('/v1/policy').catch(() => null);
      // The aggregator's default policy, when it does not publish its own.
      return Object.assign({ max_epsilon: 8, min_epoch_seconds: 3600, max_epoch_seconds: 90 * 86400, min_k: 50 }, d || {});
    },
    // ingest reads the aggregator's Prometheus metrics for this node's
    // accepted and rejected report counts (operators only: they cover
    // every tenant).
    async ingest() {
      const resp = await fetch('/metrics', { headers: { Authorization: 'Bearer ' + token() } });
      if (!resp.ok) return null;
      return parseMetrics(await resp.text());
    },
    async taxonomy() {
      if (!state.taxonomy) state.taxonomy = await api.get('/dashboard/taxonomy.json');
      return state.taxonomy;
    },
  };

  // parseMetrics picks the ingest counters out of Prometheus text format.
  function parseMetrics(text) {
    const out = { accepted: 0, rejects: {}, overloaded: 0, queue: 0 };
    for (const line of text.split('\n')) {
      if (!line || line[0] === '#') continue;
      const m = line.match(/^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/);
      if (!m) continue;
      const v = Number(m[4]);
      const labels = {};
      for (const l of (m[3] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
      if (m[1] === 'wisp_ingest_reports_accepted_total') out.accepted += v;
      else if (m[1] === 'wisp_ingest_reports_rejected_total' && labels.reason) out.rejects[labels.reason] = (out.rejects[labels.reason] || 0) + v;
      else if (m[1] === 'wisp_ingest_overloaded_total') out.overloaded += v;
      else if (m[1] === 'wisp_ingest_queue_depth') out.queue = v;
    }
    return out;
  }

  const state = { me: null, taxonomy: null };

  // ---- DOM helpers -----------------------------------------------------

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }

  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function append(el, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === undefined || k === null || k === false) continue;
      el.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
  }

  // reportsText is a release's report count; a suppressed release
  // publishes none (fewer than k would say how few took part).
  function reportsText(sg) { return sg.suppressed ? 'below k' : fmt(sg.reports); }
  function fmt(x) {
    if (x === undefined || x === null || !isFinite(x)) return '–';
    return Math.round(x).toLocaleString('en-US');
  }

  // pct formats a share of reporters as a percentage, 1 decimal below 10%.
  function pct(x) {
    if (x === undefined || x === null || !isFinite(x)) return '–';
    const v = x * 100;
    return (Math.abs(v) < 10 ? Math.round(v * 10) / 10 : Math.round(v)) + '%';
  }
  function fmt3(x) { return x === undefined || x === null || !isFinite(x) ? '–' : (Math.round(x * 1000) / 1000).toString(); }

  // kindOf tells what a released result holds: a segment size ("count",
  // threshold questions), a histogram of categories ("top_k") or a mean
  // score ("mean").
  function kindOf(sg) { return sg.top_k ? 'top_k' : sg.mean ? 'mean' : 'count'; }

  function fmtEps(e) { return 'ε ' + (Math.round(e * 100) / 100).toString(); }

  // epochSpan is when an epoch runs, [start, end) as Dates: from the
  // released result's epoch_start/epoch_end, or else epoch × its length.
  function epochSpan(sg, seconds) {
    if (sg && sg.epoch_start && sg.epoch_end) return [new Date(sg.epoch_start), new Date(sg.epoch_end)];
    if (!seconds || !sg) return null;
    return [new Date(sg.epoch * seconds * 1000), new Date((sg.epoch + 1) * seconds * 1000)];
  }

  const DAY = { weekday: 'short', day: 'numeric', month: 'short' };
  const TIME = { hour: '2-digit', minute: '2-digit', hour12: false };
  const localMidnight = (d) => d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0;
  const dayOf = (d) => d.toLocaleDateString('en-GB', DAY).replace(',', '');
  const timeOf = (d) => d.toLocaleTimeString('en-GB', TIME);

  // epochRange says an epoch's span in the viewer's time zone: whole days
  // as "Mon 30 Nov – Sun 6 Dec" (the end day inclusive), otherwise with
  // the hours, "Mon 30 Nov 14:00–15:00".
  function epochRange(sg, seconds) {
    const span = epochSpan(sg, seconds);
    if (!span) return '';
    const [a, b] = span;
    if (localMidnight(a) && localMidnight(b)) {
      const last = new Date(b.getTime() - 1);
      return dayOf(a) === dayOf(last) ? dayOf(a) : dayOf(a) + ' – ' + dayOf(last);
    }
    const sameDay = a.toDateString() === new Date(b.getTime() - 1).toDateString();
    return sameDay ? `${dayOf(a)} ${timeOf(a)}–${timeOf(b)}` : `${dayOf(a)} ${timeOf(a)} – ${dayOf(b)} ${timeOf(b)}`;
  }

  // epochTick is a short axis label for an epoch's start: "30 Nov", with
  // the hour when the epoch does not start at midnight.
  function epochTick(sg, seconds) {
    const span = epochSpan(sg, seconds);
    if (!span) return sg ? 'epoch ' + sg.epoch : '';
    const d = span[0];
    const day = d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
    return localMidnight(d) && localMidnight(span[1]) ? day : day + ' ' + timeOf(d);
  }

  const zoneName = () => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time'; } catch (e) { return 'local time'; } };

  // ---- charts ----------------------------------------------------------

  // niceTicks returns round tick values from 0 up to at least max.
  function niceTicks(max, count) {
    count = count || 5;
    max = Math.max(max || 0, count); // audience sizes are counts: whole steps
    const raw = max / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = Math.max(1, [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw));
    const ticks = [];
    for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Math.round(v * 1e9) / 1e9);
    return ticks;
  }

  function defs() {
    return s('defs', {}, s('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      s('rect', { width: 6, height: 6, fill: '#fff4e5' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#f0b36b', 'stroke-width': 2 })));
  }

  // chartWidth is the width a chart is drawn at: the page's width, so its
  // text keeps its size (11 px) on a phone instead of shrinking with a
  // scaled-down 720-wide drawing.
  function chartWidth() {
    const el = main();
    if (!el || !el.clientWidth) return 720;
    const cs = getComputedStyle(el);
    // The content box, less a card's padding and border, less room for a
    // scroll bar that may appear once the page is drawn.
    const w = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 34 - 16;
    return Math.round(Math.max(280, Math.min(720, w)));
  }

  // Redraw when the width changes enough to matter for the charts.
  let drawnWidth = 0;
  window.addEventListener('resize', () => {
    clearTimeout(window.__wispResize);
    window.__wispResize = setTimeout(() => {
      const w = chartWidth();
      if (drawnWidth && Math.abs(w - drawnWidth) > 24 && document.querySelector('svg.chart')) { drawnWidth = w; route(); }
    }, 200);
  });

  function yTitle(svg, text, m, H) {
    if (!text) return;
    const cy = m.top + (H - m.top - m.bottom) / 2;
    svg.append(s('text', { class: 'ytitle', x: 12, y: cy, 'text-anchor': 'middle', transform: `rotate(-90 12 ${cy})`, text }));
  }

  function yAxis(g, ticks, y, x0, x1) {
    const axis = s('g', { class: 'axis' });
    for (const t of ticks) {
      axis.append(s('line', { class: 'grid', x1: x0, x2: x1, y1: y(t), y2: y(t) }));
      axis.append(s('text', { x: x0 - 6, y: y(t) + 4, 'text-anchor': 'end', text: t > 0 && t < 1 ? String(t) : fmt(t) }));
    }
    axis.append(s('line', { x1: x0, x2: x1, y1: y(0), y2: y(0) }));
    g.append(axis);
  }

  // barChart draws one bar per point with its 95% interval as an error bar.
  // A point is {label, sublabel, estimate, low, high, suppressed, title}.
  // Suppressed points get a hatched placeholder bar and no error bar.
  function barChart(points, opts) {
    opts = opts || {};
    const W = opts.width || (drawnWidth = chartWidth()), H = opts.height || 280;
    const m = { top: 16, right: 12, bottom: 48, left: 70 };
    const released = points.filter((p) => !p.suppressed);
    const max = Math.max(1, ...released.map((p) => Math.max(p.high, p.estimate)));
    const ticks = opts.fraction ? [0, 0.2, 0.4, 0.6, 0.8, 1] : niceTicks(max);
    const top = ticks[ticks.length - 1];
    const y = (v) => m.top + (H - m.top - m.bottom) * (1 - Math.min(Math.max(v, 0), top) / top);
    const band = (W - m.left - m.right) / Math.max(points.length, 1);
    const bw = Math.min(64, band * 0.6);
    const svg = s('svg', { class: 'chart bars', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': opts.label || 'segment sizes' }, defs());
    yAxis(svg, ticks, y, m.left, W - m.right);
    yTitle(svg, opts.yTitle === undefined ? (opts.fraction ? 'mean score' : 'devices (estimate)') : opts.yTitle, m, H);
    points.forEach((p, i) => {
      const cx = m.left + band * (i + 0.5);
      const g = s('g', { class: 'point' + (p.suppressed ? ' suppressed' : ''), 'data-index': i });
      if (p.title) g.append(s('title', { text: p.title }));
      if (p.suppressed) {
        // A hatched band the full height of the plot: "no value here",
        // not a bar of some height that could be read as one.
        const hh = H - m.top - m.bottom;
        g.append(s('rect', { class: 'bar suppressed', x: cx - bw / 2, y: m.top, width: bw, height: hh }));
        // Written along the band when the band is too narrow for the words.
        const cy = m.top + hh / 2, along = bw < 56;
        g.append(s('text', { class: 'label-suppressed', x: cx, y: cy + (along ? 0 : 4), 'text-anchor': 'middle', 'dominant-baseline': along ? 'central' : null,
          transform: along ? `rotate(-90 ${cx} ${cy})` : null, text: 'below k' }));
      } else {
        const top0 = y(Math.max(p.estimate, 0));
        g.append(s('rect', { class: 'bar', x: cx - bw / 2, y: top0, width: bw, height: Math.max(y(0) - top0, 0) }));
        if (p.estimate < 0) { // clamped to 0 on the axis, and said so
          g.append(s('text', { class: 'note-negative', x: cx, y: y(0) - 6, 'text-anchor': 'middle', text: `${opts.fraction ? fmt3(p.estimate) : fmt(p.estimate)}: read as 0` }));
        }
        const lo = y(p.low), hi = y(p.high), cap = bw / 4;
        g.append(s('g', { class: 'errorbar' },
          s('line', { x1: cx, x2: cx, y1: lo, y2: hi }),
          s('line', { x1: cx - cap, x2: cx + cap, y1: hi, y2: hi }),
          s('line', { x1: cx - cap, x2: cx + cap, y1: lo, y2: lo })));
      }
      const room = Math.max(6, Math.floor(band / 7)); // characters that fit under a bar
      const short = p.label.length > room ? p.label.slice(0, room - 1) + '…' : p.label;
      g.append(s('text', { class: 'label', x: cx, y: H - m.bottom + 16, 'text-anchor': 'middle', text: short }));
      if (p.sublabel) g.append(s('text', { class: 'sublabel', x: cx, y: H - m.bottom + 30, 'text-anchor': 'middle', text: p.sublabel }));
      svg.append(g);
    });
    return svg;
  }

  // trendChart draws one line per series across epochs, with its 95% band.
  // series: [{name, points: [{epoch, estimate, low, high, suppressed}]}].
  function trendChart(series, opts) {
    opts = opts || {};
    const W = opts.width || (drawnWidth = chartWidth()), H = opts.height || 260;
    const m = { top: 16, right: 12, bottom: 36, left: 70 };
    const epochs = [...new Set(series.flatMap((se) => se.points.map((p) => p.epoch)))].sort((a, b) => a - b);
    const all = series.flatMap((se) => se.points.filter((p) => !p.suppressed));
    const ticks = niceTicks(Math.max(1, ...all.map((p) => Math.max(p.high, p.estimate))));
    const top = ticks[ticks.length - 1];
    const y = (v) => m.top + (H - m.top - m.bottom) * (1 - Math.min(Math.max(v, 0), top) / top);
    const x = (e) => {
      const i = epochs.indexOf(e);
      const pad = 36;
      return epochs.length < 2 ? (m.left + W - m.right) / 2 : m.left + pad + (W - m.left - m.right - 2 * pad) * i / (epochs.length - 1);
    };
    const svg = s('svg', { class: 'chart trend', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': opts.label || 'trend across epochs' });
    yAxis(svg, ticks, y, m.left, W - m.right);
    yTitle(svg, opts.yTitle === undefined ? 'devices (estimate)' : opts.yTitle, m, H);
    // The x axis says dates: each epoch's start (from any series that has
    // that epoch), at most as many as fit.
    const tickOf = new Map();
    for (const se of series) for (const p of se.points) if (!tickOf.has(p.epoch)) tickOf.set(p.epoch, p.tick || String(p.epoch));
    const every = Math.max(1, Math.ceil(epochs.length / Math.max(1, Math.floor((W - m.left - m.right) / 64))));
    epochs.forEach((e, i) => {
      if (i % every === 0) svg.append(s('text', { class: 'xtick', x: x(e), y: H - m.bottom + 16, 'text-anchor': 'middle', text: tickOf.get(e) }));
    });
    series.forEach((se, i) => {
      const color = COLORS[i % COLORS.length];
      const pts = se.points.filter((p) => !p.suppressed).sort((a, b) => a.epoch - b.epoch);
      const g = s('g', { class: 'series', 'data-name': se.name });
      if (pts.length > 1) {
        const upper = pts.map((p) => `${x(p.epoch)},${y(p.high)}`);
        const lower = pts.slice().reverse().map((p) => `${x(p.epoch)},${y(p.low)}`);
        g.append(s('path', { class: 'band', d: 'M' + upper.concat(lower).join('L') + 'Z', fill: color }));
        g.append(s('path', { class: 'line', d: 'M' + pts.map((p) => `${x(p.epoch)},${y(p.estimate)}`).join('L'), stroke: color }));
      }
      for (const p of se.points.filter((q) => q.suppressed)) {
        g.append(s('path', { class: 'suppressed-mark', d: `M${x(p.epoch) - 5},${y(0) - 1}l5,-8l5,8Z`, fill: 'none', stroke: color },
          s('title', { text: `${se.name}, ${p.when || 'epoch ' + p.epoch}: suppressed (fewer than k reports)` })));
      }
      for (const p of pts) {
        g.append(s('circle', { cx: x(p.epoch), cy: y(p.estimate), r: 3.5, fill: color },
          s('title', { text: `${se.name}, ${p.when || 'epoch ' + p.epoch}: ${fmt(p.estimate)} [${fmt(p.low)}, ${fmt(p.high)}]` })));
      }
      svg.append(g);
    });
    return svg;
  }

  function legend(names) {
    return h('div', { class: 'legend' }, names.map((n, i) => h('span', {}, h('i', { class: 'swatch-' + (i % COLORS.length) }), n)));
  }

  function segmentPoint(seg, label, sublabel, seconds) {
    const p = { label, sublabel, epoch: seg.epoch, suppressed: !!seg.suppressed, tick: epochTick(seg, seconds), when: epochRange(seg, seconds) };
    if (!p.suppressed && seg.mean) {
      Object.assign(p, { estimate: seg.mean.mean, low: seg.mean.ci_low, high: seg.mean.ci_high,
        title: `${label}: mean ${fmt3(seg.mean.mean)} (95% CI ${fmt3(seg.mean.ci_low)} – ${fmt3(seg.mean.ci_high)}), ${fmt(seg.reports)} reports, ${fmtEps(seg.epsilon)}` });
    } else if (!p.suppressed) {
      p.estimate = seg.estimate;
      p.low = seg.ci_low;
      p.high = seg.ci_high;
      p.title = `${label}: ${fmt(seg.estimate)} (95% CI ${fmt(seg.ci_low)} – ${fmt(seg.ci_high)}), ${fmt(seg.reports)} reports, ${fmtEps(seg.epsilon)}`;
    } else {
      p.title = `${label}: suppressed, fewer than k reports (the count is not published)`;
    }
    return p;
  }

  // ---- views -----------------------------------------------------------

  // stack marks a wide table to be laid out as one block per row on a
  // narrow screen: each cell gets its column's name to show beside it.
  function stack(table) {
    const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
    for (const tr of table.querySelectorAll('tbody tr')) [...tr.children].forEach((td, i) => { if (heads[i]) td.setAttribute('data-label', heads[i]); });
    table.classList.add('stack');
    return table;
  }

  const main = () => document.getElementById('main');

  function render(...kids) {
    const el = main();
    el.replaceChildren();
    append(el, kids);
  }

  // plainMessage says what went wrong in words a marketer can act on:
  // never a Go error chain ("store: add_campaign: …") nor a browser's
  // "Failed to fetch".
  function plainMessage(err) {
    if (!err) return 'Something went wrong.';
    if (!(err instanceof APIError)) return 'Can\'t reach the aggregator. Check your connection, then retry.';
    const p = err.problem || {};
    const raw = String(p.detail || p.title || '');
    if (/already exists|\btaken\b/i.test(raw) || err.status === 409) return 'A campaign with this id already exists: choose another id.';
    if (err.status === 403) return 'This token may not do that.';
    if (err.status === 404) return 'Not found (or not something this token may see).';
    if (err.status === 429) return 'The aggregator is busy. Wait a moment, then retry.';
    if (err.status >= 500) return `The aggregator had a problem (HTTP ${err.status}). Retry; if it keeps failing, tell its operator.`;
    // A 4xx detail is meant for the caller: keep its last, human part.
    const tail = raw.split(/:\s+(?=[^:]*$)/).pop().replace(/\bcampaign "[^"]*":?\s*/g, '').trim();
    return tail ? tail.charAt(0).toUpperCase() + tail.slice(1) + (/[.!?]$/.test(tail) ? '' : '.') : `The aggregator refused the request (HTTP ${err.status}).`;
  }

  function errorBox(err) {
    if (err && err.status === 401) { // revoked or unknown: back to sign-in
      signOut();
      setTimeout(() => viewSignIn('Your token is no longer accepted; sign in again.'));
      return h('p', { class: 'error' }, 'Your token is no longer accepted.');
    }
    return h('div', { class: 'error-box', role: 'alert' }, h('p', { class: 'error', id: 'error-message' }, plainMessage(err)),
      h('button', { type: 'button', id: 'retry', onclick: () => route() }, 'Retry'));
  }

  // REASONS says each ingest reject reason in words.
  const REASONS = {
    malformed: 'malformed report',
    unsupported_version: 'unsupported report version',
    unknown_campaign: 'unknown campaign',
    unknown_key: 'sealed to an unknown key',
    decrypt_failure: 'could not be decrypted',
    bad_answer: 'answer out of range',
    replay: 'sent twice (replay)',
    key_expired: 'sealed to an expired key',
    epoch_too_early: 'epoch not started yet',
    epoch_too_late: 'epoch already closed',
    campaign_paused: 'campaign paused before the epoch began',
    wrong_report_size: "not the campaign's report size",
  };
  const reasonText = (r) => REASONS[r] || String(r).replace(/_/g, ' ');

  function viewSignIn(message) {
    document.getElementById('nav').hidden = true;
    document.getElementById('who').replaceChildren();
    const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', placeholder: 'API token', required: true });
    const err = h('div', { class: 'field-error', id: 'token-error' }, message || '');
    const form = h('form', { id: 'signin', onsubmit: async (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) { err.textContent = 'Enter the API token your operator gave you.'; return; }
      sessionStorage.setItem(TOKEN_KEY, t);
      try {
        await startSession();
        route();
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        err.textContent = e.status === 401 || e.status === 403 ? 'This token is not valid.' : 'Cannot sign in: ' + plainMessage(e);
      }
    } },
    h('label', { for: 'token' }, 'API token'), input, err,
    h('p', {}, h('button', { type: 'submit' }, 'Sign in')));
    render(h('div', { class: 'card signin' }, h('h1', {}, 'Sign in'),
      h('p', { class: 'muted' }, 'Sign in with the API token your aggregator operator issued. It stays in this browser tab only.'), form));
    input.focus();
  }

  async function startSession() {
    state.me = await api.whoami();
    const who = document.getElementById('who');
    const me = state.me;
    const desc = !me ? 'signed in' : me.role === 'marketer' ? 'marketer' + (me.tenant ? ' · ' + me.tenant : '') : (me.role || 'signed in') + (me.tenant ? ' · ' + me.tenant : '');
    who.replaceChildren(h('span', { id: 'identity' }, (me && me.name ? me.name + ' — ' : '') + desc),
      h('button', { class: 'secondary', id: 'signout', onclick: () => { signOut(); viewSignIn(); } }, 'Sign out'));
    document.getElementById('nav').hidden = false;
  }

  // learnTenant fills in a marketer's tenant from the campaigns they see,
  // since the API does not say it outright.
  function learnTenant(campaigns) {
    const me = state.me;
    if (!me || me.role !== 'marketer' || me.tenant) return;
    const c = campaigns.find((x) => x.tenant);
    if (!c) return;
    me.tenant = c.tenant;
    const el = document.getElementById('identity');
    if (el) el.textContent = (me.name ? me.name + ' — ' : '') + 'marketer · ' + me.tenant;
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    state.me = null;
  }

  function isOperator() { return !!state.me && (state.me.role === 'operator' || state.me.role === 'admin'); }

  function bySegment(segs) {
    const m = new Map();
    for (const sg of segs) {
      if (!m.has(sg.campaign)) m.set(sg.campaign, []);
      m.get(sg.campaign).push(sg);
    }
    for (const l of m.values()) l.sort((a, b) => a.epoch - b.epoch);
    return m;
  }

  // categoryName is a category's full name without the "Interest | "
  // every one shares: from the result when it names it, else from the
  // taxonomy the page loaded, else its id said as such.
  function categoryName(id, given, tax) {
    const list = tax || state.taxonomy || [];
    const name = given || (list.find((x) => x.id === id) || {}).name;
    if (name && name !== 'Interest') return name.replace(/^Interest \| /, '');
    // The Interest root itself: the list leaves it out, its children name it.
    if (name === 'Interest' || list.some((x) => x.parent === id && x.name.split(' | ').length === 2)) return 'Interest (any, the taxonomy’s root)';
    return `category ${id} (not in the taxonomy)`;
  }

  // categoryLabel names a campaign's categories: all of them when few, a
  // count otherwise (a top k of every Interest category has 497).
  function categoryLabel(c) {
    const q = c.question || {};
    const ids = q.categories || (q.category !== undefined ? [q.category] : []);
    const tax = state.taxonomy || [];
    const names = ids.map((id) => categoryName(id, null, tax));
    if (names.length <= 3) return names.join(', ');
    if (tax.length && ids.length >= tax.length) return `all ${ids.length} Interest categories`;
    return `${names.slice(0, 2).join(', ')} and ${ids.length - 2} more categories`;
  }

  const TOP_ROWS = 10; // rows a top-k table shows before "Show all"

  // topKView is a top_k result as a table, largest first: each category's
  // full name, the estimated devices with that category in their top k,
  // its 95% interval, and a small bar with the interval drawn to scale.
  // Beyond TOP_ROWS rows the rest are behind a "Show all" button.
  function topKView(sg, tax) {
    const rows = sg.top_k.categories.map((ce) => ({ id: ce.category, name: categoryName(ce.category, ce.category_name, tax),
      estimate: ce.estimate, low: ce.ci_low, high: ce.ci_high }))
      .sort((a, b) => (b.estimate - a.estimate) || (a.id - b.id));
    const max = Math.max(1, ...rows.map((r) => Math.max(r.high || 0, r.estimate || 0)));
    const sx = (v) => 100 * Math.max(0, Math.min(v, max)) / max;
    const bar = (r) => s('svg', { class: 'hbar', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' },
      s('rect', { class: 'bar', x: 0, y: 2, width: sx(r.estimate), height: 6 }),
      s('line', { class: 'ci', x1: sx(r.low), x2: sx(r.high), y1: 5, y2: 5 }));
    const tr = (r, i) => h('tr', { 'data-category': r.id, hidden: i >= TOP_ROWS },
      h('td', { class: 'num' }, i + 1), h('th', { scope: 'row', class: 'cat' }, r.name),
      h('td', { class: 'num est' }, fmt(r.estimate)), h('td', { class: 'num ci' }, `${fmt(r.low)} – ${fmt(r.high)}`), h('td', { class: 'barcell' }, bar(r)));
    const trs = rows.map(tr);
    const table = h('table', { id: 'top-k-table', class: 'topk' },
      h('caption', {}, `Devices with each category among their top ${sg.top_k.k}` + (sg.epoch_start ? ', ' + epochRange(sg) : ', epoch ' + sg.epoch)),
      h('thead', {}, h('tr', {}, h('th', { class: 'num', scope: 'col' }, 'Rank'), h('th', { scope: 'col' }, 'Category'),
        h('th', { class: 'num', scope: 'col' }, 'Devices'), h('th', { class: 'num', scope: 'col' }, '95% interval'), h('th', { scope: 'col' }, h('span', { class: 'sr' }, 'Bar: estimate and interval')))),
      h('tbody', {}, trs));
    const more = rows.length > TOP_ROWS ? h('button', { type: 'button', class: 'secondary', id: 'top-k-all', 'aria-controls': 'top-k-table', 'aria-expanded': 'false', onclick: (ev) => {
      const open = ev.currentTarget.getAttribute('aria-expanded') !== 'true';
      trs.forEach((el, i) => { if (i >= TOP_ROWS) el.hidden = !open; });
      ev.currentTarget.setAttribute('aria-expanded', String(open));
      ev.currentTarget.textContent = open ? `Show the top ${TOP_ROWS} only` : `Show all ${rows.length} categories`;
    } }, `Show all ${rows.length} categories`) : null;
    return h('div', { class: 'card', id: 'top-k' }, h('h2', {}, `Top ${sg.top_k.k} interests` + (rows.length > TOP_ROWS ? ` — the ${TOP_ROWS} largest of ${rows.length} categories` : '')),
      h('div', { class: 'scroll' }, table), more ? h('p', {}, more) : null);
  }

  // latestOf is the latest released, unsuppressed result of a campaign, or
  // else its latest result.
  function latestOf(list) {
    const shown = list.filter((sg) => !sg.suppressed);
    return shown.length ? shown[shown.length - 1] : list[list.length - 1];
  }

  async function viewCampaigns() {
    render(h('h1', {}, 'Campaigns'), h('p', { class: 'muted' }, 'Loading…'));
    let campaigns, segs;
    try {
      [campaigns, segs] = await Promise.all([api.campaigns(), api.segments(), api.taxonomy()]);
    } catch (e) { render(h('h1', {}, 'Campaigns'), errorBox(e)); return; }
    learnTenant(campaigns);
    const per = bySegment(segs);
    const showTenant = isOperator();
    const rows = campaigns.map((c) => {
      const list = per.get(c.id) || [];
      const last = latestOf(list);
      let latest = h('span', { class: 'muted' }, 'no reports yet');
      if (last && last.suppressed) latest = h('span', { class: 'badge suppressed' }, 'suppressed (< k)');
      else if (last && last.mean) latest = ['mean ' + fmt3(last.mean.mean), h('span', { class: 'muted' }, ` [${fmt3(last.mean.ci_low)}, ${fmt3(last.mean.ci_high)}]`)];
      else if (last && last.top_k) {
        const t = last.top_k.categories.reduce((a, b) => (b.estimate > a.estimate ? b : a), last.top_k.categories[0] || {});
        latest = h('a', { href: '#/campaign/' + encodeURIComponent(c.id) }, t.category === undefined ? 'top k: no category' :
          `top: ${categoryName(t.category, t.category_name).split(' | ').pop()} ${fmt(t.estimate)} (of ${last.top_k.categories.length})`);
      }
      else if (last) latest = [fmt(last.estimate), h('span', { class: 'muted' }, ` [${fmt(last.ci_low)}, ${fmt(last.ci_high)}]`)];
      return h('tr', { 'data-campaign': c.id },
        h('td', {}, h('a', { href: '#/campaign/' + encodeURIComponent(c.id) }, c.name || c.id), c.state === 'paused' ? [' ', h('span', { class: 'badge paused' }, 'paused')] : null,
          h('div', { class: 'muted' }, c.id)),
        showTenant ? h('td', {}, c.tenant || '–') : null,
        h('td', {}, categoryLabel(c)),
        h('td', { class: 'num' }, c.epsilon),
        h('td', { class: 'num' }, c.k),
        h('td', { class: 'when' }, last ? epochRange(last, c.epoch_seconds) : '–'),
        h('td', { class: 'num' }, last ? reportsText(last) : '–'),
        h('td', { class: 'num' }, latest));
    });
    const table = h('table', { id: 'campaigns' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Campaign'), showTenant ? h('th', {}, 'Tenant') : null, h('th', {}, 'Category'),
        h('th', { class: 'num' }, 'ε'), h('th', { class: 'num' }, 'k'), h('th', {}, 'Latest epoch'),
        h('th', { class: 'num' }, 'Reports'), h('th', { class: 'num' }, 'Audience (95% CI)'))),
      h('tbody', {}, rows));
    // The overview charts compare segment sizes, so they show the
    // campaigns whose results are sizes (or suppressed).
    const withData = campaigns.filter((c) => (per.get(c.id) || []).length > 0 && per.get(c.id).every((sg) => sg.suppressed || kindOf(sg) === 'count'));
    const charts = [];
    if (withData.length) {
      const pts = withData.map((c) => {
        const l = latestOf(per.get(c.id));
        return segmentPoint(l, c.name || c.id, epochTick(l, c.epoch_seconds), c.epoch_seconds);
      });
      charts.push(h('div', { class: 'card', id: 'overview' }, h('h2', {}, 'Latest audience size per campaign'),
        barChart(pts, { label: 'latest audience size per campaign' })));
      if (withData.some((c) => per.get(c.id).length > 1)) {
        const series = withData.map((c) => ({ name: c.name || c.id, points: per.get(c.id).map((sg) => segmentPoint(sg, String(sg.epoch), '', c.epoch_seconds)) }));
        charts.push(h('div', { class: 'card', id: 'trend' }, h('h2', {}, 'Trend across epochs'), trendChart(series), legend(series.map((x) => x.name))));
      }
    }
    render(h('h1', {}, 'Campaigns'),
      campaigns.length ? h('div', { class: 'scroll' }, stack(table)) : h('p', { class: 'muted', id: 'no-campaigns' }, 'No campaigns yet. ', h('a', { href: '#/new' }, 'Create one.')),
      charts);
  }

  async function viewCampaign(id) {
    render(h('h1', {}, id), h('p', { class: 'muted' }, 'Loading…'));
    const path = '/v1/campaigns/' + encodeURIComponent(id);
    let info, res;
    try {
      [info, res] = await Promise.all([api.get(path), api.get(path + '/results?format=json'), api.taxonomy()]);
    } catch (e) {
      render(h('h1', {}, id), e.status === 404 ? h('p', { class: 'error', id: 'not-found' }, 'No such campaign (or not one this token may see).') : errorBox(e));
      return;
    }
    const c = campaignOf(info);
    learnTenant([c]);
    const list = (res.segments || []).slice().sort((a, b) => a.epoch - b.epoch);
    const q = c.question || {};
    const facts = h('p', { class: 'muted' }, `${categoryLabel(c)} · ${q.type === 'threshold' || !q.type ? 'score ≥ ' + q.min_score : q.type.replace('_', ' ')} · ${fmtEps(c.epsilon)} per report · epoch ${fmtDuration(c.epoch_seconds)} · k = ${c.k}` + (c.tenant ? ` · tenant ${c.tenant}` : ''));
    const pts = list.filter((sg) => kindOf(sg) !== 'top_k').map((sg) => segmentPoint(sg, epochTick(sg, c.epoch_seconds), fmtEps(sg.epsilon), c.epoch_seconds));
    const isMean = list.some((sg) => sg.mean);
    const charts = [];
    if (pts.length) {
      charts.push(h('div', { class: 'card', id: 'epochs' }, h('h2', {}, isMean ? 'Mean score per epoch (95% CI)' : 'Audience size per epoch (95% CI)'),
        barChart(pts, { label: isMean ? 'mean score per epoch' : 'audience size per epoch', fraction: isMean })));
    }
    const lastTop = [...list].reverse().find((sg) => sg.top_k);
    if (lastTop) charts.push(topKView(lastTop, state.taxonomy));
    const chart = list.length ? charts : h('p', { class: 'muted', id: 'no-reports' }, noResultsYet(c));
    const topOf = (sg) => sg.top_k.categories.reduce((a, b) => (b.estimate > a.estimate ? b : a), sg.top_k.categories[0] || {});
    const estCell = (sg) => {
      if (sg.suppressed) return '–';
      if (sg.mean) return fmt3(sg.mean.mean);
      if (sg.top_k) { const t = topOf(sg); return t.category === undefined ? '–' : `top: ${categoryName(t.category, t.category_name)} ${fmt(t.estimate)}`; }
      return fmt(sg.estimate);
    };
    const ciCell = (sg) => {
      if (sg.suppressed) return '–';
      if (sg.top_k) { const t = topOf(sg); return t.category === undefined ? '–' : `${fmt(t.ci_low)} – ${fmt(t.ci_high)}`; }
      return sg.mean ? `${fmt3(sg.mean.ci_low)} – ${fmt3(sg.mean.ci_high)}` : `${fmt(sg.ci_low)} – ${fmt(sg.ci_high)}`;
    };
    // reachCell: the audience as a share of the devices that reported
    // (a threshold campaign's reach, a top-k category's share of top-k
    // sets), with its interval; a mean has none.
    const reachCell = (sg) => {
      if (sg.suppressed || sg.mean || !sg.reports) return '–';
      if (sg.top_k) { const t = topOf(sg); return t.category === undefined ? '–' : pct(t.share); }
      return `${pct(sg.estimate / sg.reports)} (${pct(sg.ci_low / sg.reports)} – ${pct(sg.ci_high / sg.reports)})`;
    };
    const spent = list.reduce((a, sg) => a + sg.epsilon, 0);
    const table = h('table', { id: 'releases' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Epoch'), h('th', {}, `Dates (${zoneName()})`), h('th', { class: 'num' }, 'Reports'), h('th', { class: 'num' }, 'Estimate'),
        h('th', { class: 'num' }, '95% CI'), h('th', { class: 'num' }, 'Reach (of reporters)'), h('th', { class: 'num' }, 'ε cost'), h('th', {}, 'Status'))),
      h('tbody', {}, list.map((sg) => h('tr', { 'data-epoch': sg.epoch },
        h('td', { class: 'muted' }, sg.epoch), h('td', { class: 'when' }, epochRange(sg, c.epoch_seconds)), h('td', { class: 'num' }, reportsText(sg)),
        h('td', { class: 'num' }, estCell(sg)),
        h('td', { class: 'num' }, ciCell(sg)),
        h('td', { class: 'num reach' }, reachCell(sg)),
        h('td', { class: 'num' }, sg.epsilon),
        h('td', {}, sg.suppressed ? h('span', { class: 'badge suppressed' }, `suppressed: below k = ${c.k}`) : h('span', { class: 'badge' }, sg.released === false ? 'provisional' : 'released'))))));
    const lifecycle = lifecycleBar(c, path);
    render(h('h1', {}, c.name || c.id), facts, lifecycle, exportsBar(c), chart,
      list.length ? h('p', { class: 'muted' }, `Each epoch's release costs every reporting device ε = ${c.epsilon} (one ε-LDP report per device per epoch, suppressed epochs included); a device that answered in all ${list.length} epoch(s) shown has spent ε = ${Math.round(spent * 100) / 100} on this campaign in total.`) : null,
      list.length ? h('div', { class: 'scroll' }, stack(table)) : null);
  }

  // lifecycleBar shows where the campaign is in its life and the moves it
  // allows: pause (devices stop answering; the current epoch still
  // counts), resume, archive (for good: asks for a second click), and
  // duplicate.
  function lifecycleBar(c, path) {
    const status = h('p', { class: 'muted', id: 'lifecycle-status', 'aria-live': 'polite' });
    const since = c.state_changed_at ? ' since ' + dayOf(new Date(c.state_changed_at)) + ' ' + timeOf(new Date(c.state_changed_at)) : '';
    const words = {
      active: 'Collecting: devices that opted in answer it every epoch.',
      paused: `Paused${since}: devices no longer answer it; the epoch it was paused in still counts. Resume to collect again.`,
      archived: `Archived${since}: it collects nothing, for good; its released results stay.`,
    };
    const act = (action) => async () => {
      try {
        await api.post(path + '/' + action);
        route();
      } catch (e) {
        const p = (e && e.problem) || {};
        status.textContent = e && e.status === 409 && p.detail ? String(p.detail).replace(/^.*: /, '') : plainMessage(e);
        status.className = 'error';
      }
    };
    const button = (id, text, onclick, cls) => h('button', { type: 'button', class: cls === undefined ? 'secondary' : cls, id, onclick }, text);
    const archive = button('archive', 'Archive', null);
    archive.onclick = () => {
      if (archive.dataset.confirm) return act('archive')();
      archive.dataset.confirm = '1';
      archive.textContent = 'Archive for good? Click again';
    };
    const moves = c.state === 'active' ? [button('pause', 'Pause collection', act('pause')), archive]
      : c.state === 'paused' ? [button('resume', 'Resume collection', act('resume'), ''), archive] : [];
    return h('div', { class: 'card', id: 'lifecycle' },
      h('p', {}, h('span', { class: 'badge state-' + c.state, id: 'campaign-state' }, c.state), ' ', words[c.state] || ''),
      h('div', { class: 'actions' }, moves,
        h('a', { class: 'button secondary', id: 'duplicate', href: '#/new?from=' + encodeURIComponent(c.id) }, 'Duplicate as a new campaign')),
      status);
  }

  // noResultsYet says when a campaign without results will have its first:
  // the aggregator counts nothing before an epoch closes, so the page says
  // when the current epoch closes and what it needs.
  function noResultsYet(c) {
    if (!c.epoch_seconds) return 'No results yet.';
    const now = Date.now() / 1000, e = Math.floor(now / c.epoch_seconds);
    const sg = { epoch: e };
    const end = new Date((e + 1) * c.epoch_seconds * 1000);
    return `No results yet. The current epoch (${epochRange(sg, c.epoch_seconds)}) closes ${dayOf(end)} ${timeOf(end)}; ` +
      `its result is released then if at least k = ${fmt(c.k)} devices reported, otherwise it is shown as below k. ` +
      'Reports are not counted before an epoch closes, so there is no progress to show until then.';
  }

  function fmtDuration(sec) {
    if (!sec) return '–';
    if (sec % 86400 === 0) return (sec / 86400) + ' d';
    if (sec % 3600 === 0) return (sec / 3600) + ' h';
    return sec + ' s';
  }

  // exportsBar offers the server's exports. Downloads go through fetch so the
  // bearer token is sent; the file is handed to the browser as a blob.
  function exportsBar(c) {
    const formats = [['csv', 'Download CSV', 'text/csv'], ['openrtb', 'Download OpenRTB', 'application/json'], ['json', 'Download JSON', 'application/json']];
    const status = h('span', { class: 'muted', id: 'export-status' });
    return h('div', { class: 'actions', id: 'exports' }, formats.map(([f, text]) =>
      h('button', { class: 'secondary', 'data-format': f, onclick: () => download(exportURL(c.id, f), exportName(c.id, f), status, f) }, text)), status);
  }

  // exportName is the downloaded file's name: the campaign and today's
  // date, so exports of different days do not overwrite each other.
  function exportName(id, format) {
    const d = new Date();
    const day = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    return `${id}-${day}.${format === 'openrtb' ? 'openrtb.json' : format}`;
  }

  // hasSegments tells whether an OpenRTB user.data export holds any segment.
  function hasSegments(v) {
    if (Array.isArray(v)) return v.some(hasSegments);
    if (!v || typeof v !== 'object') return false;
    if (Array.isArray(v.segment) && v.segment.length) return true;
    return Object.values(v).some(hasSegments);
  }

  function exportURL(id, format) {
    return `/v1/campaigns/${encodeURIComponent(id)}/results?format=${format}`;
  }

  async function download(url, name, status, format) {
    status.textContent = '';
    try {
      const resp = await fetch(url, { headers: { Authorization: 'Bearer ' + token() } });
      if (!resp.ok) {
        const p = await resp.json().catch(() => ({}));
        throw new APIError(resp.status, p);
      }
      const blob = await resp.blob();
      let empty = false;
      if (format === 'openrtb') { try { empty = !hasSegments(JSON.parse(await blob.text())); } catch (e) { empty = false; } }
      const a = h('a', { href: URL.createObjectURL(blob), download: name });
      document.body.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      status.className = empty ? 'warn' : 'muted';
      status.textContent = empty ? `Downloaded ${name}, but it holds no segment: mean results are not exported to OpenRTB, suppressed epochs are left out, and top k categories below a 5% share are dropped.` : 'Downloaded ' + name;
    } catch (e) {
      status.textContent = 'Export failed: ' + plainMessage(e);
      status.className = 'error';
    }
  }

  // ---- create campaign -------------------------------------------------

  const ID_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
  const MAX_TOP_K = 32; // campaign.MaxTopK

  // QUESTIONS says, per question type, what devices answer.
  const QUESTIONS = {
    threshold: 'Devices that opted in answer “is my score for this category at least the threshold?” once per epoch with ε-LDP randomized response.',
    top_k: 'Devices that opted in report which k of the chosen categories are their top interests once per epoch (ε-LDP padding-and-sampling); the result is a histogram: how many devices hold each category among their top k.',
    mean: 'Devices that opted in report their score for this category once per epoch through an ε-LDP mean mechanism; the result is the mean score in [0, 1].',
  };

  // validateCampaign checks a draft as the server will; it returns
  // {field: message}. The server stays the authority: its answer is shown
  // in place too.
  function validateCampaign(c, policy) {
    policy = policy || {};
    const maxEps = policy.max_epsilon || 8, minEpoch = policy.min_epoch_seconds || 60;
    const errs = {};
    if (!ID_RE.test(c.id)) errs.id = 'Use 1–64 characters: a–z, 0–9 and “-”, starting with a letter or digit.';
    if (!c.name) errs.name = 'Give the campaign a name.';
    const q = c.question, type = q.type || 'threshold';
    if (type === 'top_k') {
      // No categories means every Interest category (the server fills them in).
      const n = (q.categories || []).length;
      if (n === 1) errs.category = 'Choose at least 2 categories, or none for every Interest category.';
      const most = Math.min(MAX_TOP_K, n || MAX_TOP_K);
      if (!(Number.isInteger(q.k) && q.k >= 1 && q.k <= most)) errs.top = `Top k must be a whole number in [1, ${most}].`;
    } else {
      if (q.category === undefined) errs.category = 'Choose an Interest category.';
      if (type === 'threshold' && !(q.min_score > 0 && q.min_score <= 1)) errs.min_score = 'The score threshold must be in (0, 1].';
    }
    if (!(c.epsilon > 0 && c.epsilon <= maxEps)) errs.epsilon = `ε must be in (0, ${maxEps}].`;
    if (policy.min_epsilon && c.epsilon < policy.min_epsilon) errs.epsilon = `ε must be at least ${policy.min_epsilon}.`;
    if (!(Number.isInteger(c.epoch_seconds) && c.epoch_seconds >= minEpoch)) errs.epoch_seconds = `The epoch must be at least ${fmtDuration(minEpoch)}.`;
    if (policy.max_epoch_seconds && c.epoch_seconds > policy.max_epoch_seconds) errs.epoch_seconds = `The epoch must be at most ${fmtDuration(policy.max_epoch_seconds)}.`;
    const minK = policy.min_k || 1;
    if (!(Number.isInteger(c.k) && c.k >= minK)) errs.k = `k must be a whole number ≥ ${minK}.`;
    return errs;
  }

  // serverFieldErrors maps a problem document onto form fields: a list of
  // {field|name|pointer, detail|reason} under errors/invalid_params, or else a
  // field name mentioned in its detail.
  function serverFieldErrors(problem) {
    const out = {};
    const list = problem.errors || problem['invalid-params'] || problem.invalid_params || [];
    for (const e of list) {
      const f = String(e.field || e.name || e.pointer || '').replace(/^\/?(question[./])?/, '').replace(/^categor(y|ies).*/, 'category');
      if (f) out[f] = e.detail || e.reason || e.message || 'invalid';
    }
    if (Object.keys(out).length) return out;
    const d = ((problem.detail || '') + ' ' + (problem.title || '')).replace(/campaign "[^"]*"/g, '');
    const keys = [['top', /top_k k|top k/i], ['epsilon', /epsilon|ε/i], ['epoch_seconds', /epoch/i], ['k', /\bk\b/], ['min_score', /min_score|score/i],
      ['category', /categor/i], ['tenant', /tenant/i], ['id', /\bid\b|taken|exists|conflict/i], ['name', /\bname\b/i]];
    for (const [f, re] of keys) if (re.test(d)) { out[f] = plainMessage(new APIError(problem.status || 400, problem)); break; }
    return out;
  }

  // forecast is the 95% half-width of one epoch's result before any report
  // arrives, for n reporting devices at ε: threshold (binary randomized
  // response) Var = n·e^ε/(e^ε−1)², in devices; mean (Duchi et al. on
  // scores in [0, 1]) Var = ((e^ε+1)/(e^ε−1))² / (4n), in score units.
  // top_k has no forecast here (null).
  function forecast(type, eps, n) {
    if (!(eps > 0) || !(n >= 1)) return null;
    const e = Math.exp(eps);
    if (type === 'threshold') return 1.96 * Math.sqrt(n * e / ((e - 1) * (e - 1)));
    if (type === 'mean') return 1.96 * ((e + 1) / (e - 1)) / (2 * Math.sqrt(n));
    return null;
  }

  function field(name, labelText, input, hint) {
    const control = input.matches('input, select') ? input : input.querySelector('input, select');
    const hintEl = hint ? h('span', { class: 'hint', id: 'hint-' + name }, hint) : null;
    if (control) control.setAttribute('aria-describedby', ('err-' + name + (hint ? ' hint-' + name : '')));
    return h('div', { class: 'field', 'data-field': name }, h('label', { for: control && control.id }, labelText, hintEl),
      input, h('div', { class: 'field-error', id: 'err-' + name, role: 'status' }));
  }

  // SYNONYMS maps everyday words to the taxonomy's wording, so a search for
  // "coffee" or "sneakers" finds the category a marketer means.
  const SYNONYMS = {
    coffee: ['non-alcoholic beverages'], tea: ['non-alcoholic beverages'], juice: ['non-alcoholic beverages'], soda: ['non-alcoholic beverages'],
    beer: ['alcoholic beverages'], wine: ['alcoholic beverages', 'wine'], spirits: ['alcoholic beverages'],
    sneakers: ['style & fashion', 'fitness'], shoes: ['style & fashion'], clothes: ['clothing', 'style & fashion'], fashion: ['style & fashion'],
    car: ['automotive'], cars: ['automotive'], vehicle: ['automotive'], bike: ['cycling', 'motorcycles'], bicycle: ['cycling'],
    gym: ['fitness', 'weightlifting'], jogging: ['running'], jog: ['running'], workout: ['fitness'], diet: ['healthy living', 'nutrition'],
    holiday: ['travel'], vacation: ['travel'], phone: ['smartphones', 'mobile'], game: ['gaming'], games: ['gaming'], film: ['movies'], tv: ['television'],
  };

  // categoryTree browses the Interest taxonomy tier by tier (a subtree is
  // built when it is first opened: 497 nodes at once would be slow to
  // draw); each category has an Add button that chooses it.
  function categoryTree(tax, choose) {
    const ids = new Set(tax.map((c) => c.id));
    const kids = new Map();
    for (const c of tax) {
      const p = ids.has(c.parent) ? c.parent : 0;
      if (!kids.has(p)) kids.set(p, []);
      kids.get(p).push(c);
    }
    const leafName = (c) => c.name.split(' | ').pop();
    const add = (c) => h('button', { type: 'button', class: 'secondary small', 'data-add': c.id, 'aria-label': 'Add ' + leafName(c), onclick: () => choose(c) }, 'Add');
    const branch = (parent) => h('ul', { class: 'tree' }, (kids.get(parent) || []).map((c) => {
      const sub = kids.get(c.id);
      if (!sub) return h('li', { 'data-id': c.id }, h('span', {}, leafName(c)), ' ', add(c));
      const d = h('details', {}, h('summary', {}, `${leafName(c)} (${sub.length})`), add(c));
      d.addEventListener('toggle', () => { if (d.open && !d.querySelector('ul')) d.append(branch(c.id)); });
      return h('li', { 'data-id': c.id }, d);
    }));
    const top = h('details', { id: 'category-tree' }, h('summary', {}, 'Browse all Interest categories'));
    top.addEventListener('toggle', () => { if (top.open && !top.querySelector('ul')) top.append(branch(0)); });
    return top;
  }

  // categoryPicker searches the taxonomy names as one types; Enter or a
  // click chooses. max bounds how many may be chosen.
  function categoryPicker(tax, max) {
    let chosen = [];
    const input = h('input', { id: 'category-search', type: 'search', placeholder: 'Search Interest categories, e.g. “running”', autocomplete: 'off',
      role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': 'category-results', 'aria-describedby': 'err-category' });
    const list = h('ul', { id: 'category-results', role: 'listbox', 'aria-label': 'Matching Interest categories' });
    // highlight marks option i as the active one, for the eye and for
    // assistive technology (aria-activedescendant).
    const highlight = (items, i) => {
      items.forEach((li, j) => { li.classList.toggle('hl', j === i); li.setAttribute('aria-selected', String(j === i)); });
      if (items[i]) input.setAttribute('aria-activedescendant', items[i].id); else input.removeAttribute('aria-activedescendant');
    };
    const expanded = () => input.setAttribute('aria-expanded', String(list.children.length > 0));
    const chips = h('div', { class: 'chips', id: 'category-chosen' });
    const redraw = () => {
      chips.replaceChildren(...chosen.map((c) => h('span', { class: 'chip', 'data-id': c.id }, c.name.replace(/^Interest \| /, ''),
        h('button', { type: 'button', title: 'Remove', 'aria-label': 'Remove ' + c.name.replace(/^Interest \| /, ''), onclick: () => { chosen = chosen.filter((x) => x !== c); redraw(); } }, '×'))));
      input.disabled = chosen.length >= max;
    };
    const search = () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      if (!words.length) { list.replaceChildren(); expanded(); highlight([], -1); return; }
      // Rank: a word starting the category's own (last) name first, then
      // inside it, then anywhere in its path; shorter paths first.
      const rank = (c) => {
        const leaf = c.name.toLowerCase().split(' | ').pop();
        return words.reduce((a, w) => a + (new RegExp('(^|[^a-z])' + w.replace(/[^a-z0-9]/g, '')).test(leaf) ? 0 : leaf.includes(w) ? 1 : 2), 0) * 10 + c.name.split(' | ').length;
      };
      const matches = (name, w) => name.includes(w) || (SYNONYMS[w] || []).some((x) => name.includes(x));
      const all = tax.filter((c) => words.every((w) => matches(c.name.toLowerCase(), w))).map((c) => [rank(c), c]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
      const hits = all.slice(0, 30);
      list.replaceChildren(...(hits.length ? hits.map((c) => h('li', { role: 'option', id: 'cat-opt-' + c.id, 'aria-selected': 'false', 'data-id': c.id, onclick: () => choose(c) },
        c.name.replace(/^Interest \| /, ''), h('span', { class: 'muted' }, ' #' + c.id))).concat(all.length > hits.length ? [h('li', { class: 'muted more', id: 'category-more', role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false' }, `${all.length - hits.length} more match: type more to narrow the search.`)] : [])
        : [h('li', { class: 'muted', role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false' }, 'No Interest category matches.')]));
      expanded();
      highlight([...list.querySelectorAll('li[data-id]')], 0);
    };
    const choose = (c) => {
      if (!chosen.some((x) => x.id === c.id) && chosen.length < max) chosen.push(c);
      input.value = '';
      list.replaceChildren();
      expanded();
      highlight([], -1);
      redraw();
    };
    input.addEventListener('input', search);
    // Arrow keys move the highlight, Enter chooses it.
    input.addEventListener('keydown', (ev) => {
      const items = [...list.querySelectorAll('li[data-id]')];
      const at = items.findIndex((li) => li.classList.contains('hl'));
      if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        ev.preventDefault();
        if (!items.length) return;
        const next = Math.max(0, Math.min(items.length - 1, at + (ev.key === 'ArrowDown' ? 1 : -1)));
        highlight(items, next);
        items[next].scrollIntoView({ block: 'nearest' });
      } else if (ev.key === 'Enter') {
        ev.preventDefault();
        const li = items[Math.max(at, 0)];
        if (li) choose(tax.find((c) => c.id === Number(li.dataset.id)));
      }
    });
    const el = h('div', { class: 'picker' }, input, list, chips, categoryTree(tax, (c) => choose(c)));
    // setMax changes how many may be chosen, dropping the latest beyond it.
    const setMax = (n) => { max = n; chosen = chosen.slice(0, n); redraw(); };
    // preset chooses ids (a duplicated campaign's categories).
    const preset = (ids) => { chosen = ids.map((id) => tax.find((c) => c.id === id)).filter(Boolean).slice(0, max); redraw(); };
    return { el, input, setMax, preset, ids: () => chosen.map((c) => c.id) };
  }

  // viewNew is the create form; from names a campaign to duplicate: the
  // form starts with its question, ε, epoch and k, and a new id.
  async function viewNew(from) {
    render(h('h1', {}, 'New campaign'), h('p', { class: 'muted' }, 'Loading…'));
    let tax, policy = null, src = null;
    try {
      [tax, policy, src] = await Promise.all([api.taxonomy(), api.policy(), from ? api.get('/v1/campaigns/' + encodeURIComponent(from)).then(campaignOf) : null]);
    } catch (e) { render(h('h1', {}, 'New campaign'), errorBox(e)); return; }
    const inp = (id, attrs) => h('input', Object.assign({ id: 'f-' + id, name: id }, attrs));
    const f = {
      id: inp('id', { placeholder: 'runners-autumn', autocomplete: 'off' }),
      name: inp('name', { placeholder: 'Runners, autumn push' }),
      type: h('select', { id: 'f-type', name: 'type' }, h('option', { value: 'threshold' }, 'threshold: score at least a value'),
        h('option', { value: 'top_k' }, 'top k: which categories are the top interests'), h('option', { value: 'mean' }, 'mean: average score')),
      min_score: inp('min_score', { type: 'number', step: '0.05', min: '0', max: '1', value: '0.6' }),
      top: inp('top', { type: 'number', step: '1', min: '1', max: String(MAX_TOP_K), value: '3' }),
      epsilon: inp('epsilon', { type: 'number', step: '0.1', min: '0', max: String(policy.max_epsilon || 8), value: '1' }),
      epoch: inp('epoch', { type: 'number', step: '1', min: '1', value: '7' }),
      k: inp('k', { type: 'number', step: '1', min: String(policy.min_k || 1), value: String(Math.max(policy.min_k || 0, 100)) }),
      devices: inp('devices', { type: 'number', step: '1000', min: '1', value: '100000' }),
    };
    const forecastOut = h('p', { id: 'forecast', class: 'forecast', 'aria-live': 'polite' });
    const updateForecast = () => {
      const type = f.type.value, eps = Number(f.epsilon.value), n = Math.round(Number(f.devices.value));
      const hw = forecast(type, eps, n);
      if (hw === null) {
        forecastOut.textContent = type === 'top_k' ? 'No precision forecast for top k questions yet: their interval depends on how the devices\' interests spread.' : 'Enter ε and how many devices you expect to report.';
        return;
      }
      const at = `At ${fmtEps(eps)} and ~${fmt(n)} devices per epoch: `;
      forecastOut.textContent = type === 'mean' ? at + `mean score ±${fmt3(hw)} (95%).` : at + `±${fmt(hw)} devices (95%), whatever the true audience.`;
    };
    for (const el of [f.type, f.epsilon, f.devices]) { el.addEventListener('input', updateForecast); el.addEventListener('change', updateForecast); }
    const unit = h('select', { id: 'f-epoch_unit', name: 'epoch_unit', 'aria-label': 'epoch unit' },
      h('option', { value: '3600' }, 'hours'), h('option', { value: '86400', selected: true }, 'days'));
    const tenant = isOperator() ? inp('tenant', { placeholder: 'tenant the campaign belongs to' }) : null;
    const picker = categoryPicker(tax, 1);
    const formErr = h('div', { class: 'form-error error', id: 'form-error', role: 'alert' });
    const draft = () => ({
      id: f.id.value.trim(), name: f.name.value.trim(),
      question: ({
        threshold: () => ({ type: 'threshold', category: picker.ids()[0], min_score: Number(f.min_score.value) }),
        top_k: () => ({ type: 'top_k', categories: picker.ids(), k: Number(f.top.value) }),
        mean: () => ({ type: 'mean', category: picker.ids()[0] }),
      })[f.type.value](),
      epsilon: Number(f.epsilon.value), epoch_seconds: Math.round(Number(f.epoch.value) * Number(unit.value)), k: Number(f.k.value),
    });
    const show = (errs) => {
      for (const el of document.querySelectorAll('.field-error')) el.textContent = '';
      for (const el of document.querySelectorAll('.invalid')) el.classList.remove('invalid');
      for (const el of document.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
      for (const [k, msg] of Object.entries(errs)) {
        const name = k === 'epoch_seconds' ? 'epoch' : k;
        const slot = document.getElementById('err-' + name);
        if (slot) {
          slot.textContent = msg;
          const input = k === 'category' ? picker.el : f[name] || tenant;
          if (input) input.classList.add('invalid');
          const control = k === 'category' ? picker.input : f[name] || (k === 'tenant' ? tenant : null);
          if (control) control.setAttribute('aria-invalid', 'true');
        } else {
          formErr.textContent = msg;
        }
      }
    };
    const submit = h('button', { type: 'submit', id: 'create' }, 'Create campaign');
    // The question type decides which fields apply and how many categories.
    const intro = h('p', { class: 'muted', id: 'question-intro' });
    const catLabel = h('label', { for: 'category-search' });
    const minScoreField = h('div', {}, field('min_score', 'Score at least', f.min_score, 'device-local score in (0, 1]'));
    const topField = h('div', {}, field('top', 'Top k', f.top, `how many top interests each device reports, ≤ ${MAX_TOP_K}`));
    const onType = () => {
      const type = f.type.value;
      minScoreField.hidden = type !== 'threshold';
      topField.hidden = type !== 'top_k';
      picker.setMax(type === 'top_k' ? tax.length : 1);
      catLabel.replaceChildren(type === 'top_k' ? 'Interest categories' : 'Interest category',
        h('span', { class: 'hint' }, type === 'top_k' ? 'IAB Audience Taxonomy 1.1; none chosen: every Interest category' : 'IAB Audience Taxonomy 1.1'));
      intro.textContent = QUESTIONS[type] + ' Results are released per epoch once at least k reports arrived.';
    };
    f.type.addEventListener('change', onType);
    const form = h('form', { id: 'new-campaign', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      formErr.textContent = '';
      const c = draft();
      const errs = validateCampaign(c, policy);
      if (tenant && !/^[a-z0-9-]{1,64}$/.test(tenant.value.trim())) errs.tenant = 'Name the tenant: 1–64 characters a–z, 0–9, “-”.';
      show(errs);
      if (Object.keys(errs).length) return;
      submit.disabled = true;
      try {
        await api.createCampaign(c, tenant ? tenant.value.trim() : '');
        location.hash = '#/campaign/' + encodeURIComponent(c.id);
      } catch (e) {
        const fe = serverFieldErrors(e.problem || {});
        if (Object.keys(fe).length) show(fe);
        else formErr.textContent = (e instanceof APIError ? 'The aggregator refused the campaign: ' : '') + plainMessage(e);
      } finally { submit.disabled = false; }
    } },
    h('div', { class: 'row' }, h('div', {}, field('id', 'Campaign id', f.id, 'a–z, 0–9, “-”')), h('div', {}, field('name', 'Name', f.name))),
    tenant ? field('tenant', 'Tenant', tenant, 'operators create campaigns on behalf of a tenant') : null,
    field('type', 'Question', f.type),
    h('div', { class: 'field', 'data-field': 'category' }, catLabel, picker.el, h('div', { class: 'field-error', id: 'err-category', role: 'status' })),
    h('div', { class: 'row' },
      minScoreField, topField,
      h('div', {}, field('epsilon', 'ε per report', f.epsilon, `≤ ${policy.max_epsilon || 8}; smaller is more private, noisier`)),
      h('div', {}, field('epoch', 'Epoch', h('div', { class: 'inline' }, f.epoch, unit), `${fmtDuration(policy.min_epoch_seconds)} – ${fmtDuration(policy.max_epoch_seconds)}`)),
      h('div', {}, field('k', 'k', f.k, `fewest reports to release, ≥ ${policy.min_k}`))),
    h('div', { class: 'card forecast-card' }, h('div', { class: 'row' }, h('div', {}, field('devices', 'Devices expected per epoch', f.devices, 'for the forecast only'))), forecastOut),
    formErr, h('p', {}, submit));
    render(h('h1', {}, 'New campaign'), intro, h('div', { class: 'card' }, form));
    if (src) { // duplicate: copy everything but the id
      const q = src.question || {};
      f.id.value = (src.id + '-copy').slice(0, 64);
      f.name.value = (src.name || src.id) + ' (copy)';
      f.type.value = q.type || 'threshold';
      if (q.min_score !== undefined) f.min_score.value = String(q.min_score);
      if (q.k !== undefined) f.top.value = String(q.k);
      f.epsilon.value = String(src.epsilon);
      const byDay = src.epoch_seconds % 86400 === 0;
      unit.value = byDay ? '86400' : '3600';
      f.epoch.value = String(src.epoch_seconds / (byDay ? 86400 : 3600));
      f.k.value = String(src.k);
    }
    onType();
    if (src) {
      const q = src.question || {};
      const ids = q.categories || (q.category !== undefined ? [q.category] : []);
      picker.preset(q.type === 'top_k' && ids.length >= tax.length ? [] : ids); // every Interest category: none chosen
    }
    updateForecast();
  }

  // ---- ingest health ---------------------------------------------------

  async function viewHealth() {
    render(h('h1', {}, 'Ingest health'), h('p', { class: 'muted' }, 'Loading…'));
    let campaigns, segs, ingest = null, mine = null;
    try {
      [campaigns, segs] = await Promise.all([api.campaigns(), api.segments()]);
      // Node-wide counters cover every tenant's devices: operators only.
      // A marketer gets their own campaigns' counts (GET /v1/metrics).
      if (isOperator()) ingest = await api.ingest().catch(() => null);
      else mine = await api.get('/v1/metrics').catch(() => null);
    } catch (e) { render(h('h1', {}, 'Ingest health'), errorBox(e)); return; }
    const names = new Map(campaigns.map((c) => [c.id, c.name || c.id]));
    const per = bySegment(segs);
    const rows = [];
    for (const [id, list] of per) for (const sg of list) rows.push(h('tr', {}, h('td', {}, names.get(id) || id), h('td', { class: 'when' }, epochRange(sg)), h('td', { class: 'num' }, reportsText(sg)),
      h('td', {}, sg.suppressed ? h('span', { class: 'badge suppressed' }, 'suppressed (< k)') : h('span', { class: 'badge' }, 'released'))));
    const rejectRows = ingest ? Object.entries(ingest.rejects).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => h('tr', { 'data-reason': reason }, h('td', {}, reasonText(reason)), h('td', { class: 'num' }, fmt(n)))) : [];
    render(h('h1', {}, 'Ingest health'),
      h('h2', {}, 'Reports per epoch'),
      rows.length ? stack(h('table', { id: 'reports-per-epoch' }, h('thead', {}, h('tr', {}, h('th', {}, 'Campaign'), h('th', {}, 'Epoch'), h('th', { class: 'num' }, 'Reports'), h('th', {}, 'Release'))), h('tbody', {}, rows)))
        : h('p', { class: 'muted' }, 'No epoch has been released yet: results appear once an epoch has closed.'),
      h('h2', {}, 'This node since it started'),
      !isOperator() ? [h('p', { class: 'muted', id: 'ingest-operators-only' }, 'Totals cover every tenant on this aggregator, so only operators see them; these are your campaigns\u2019 reports.'),
        (mine && mine.campaigns.length ? h('table', { id: 'tenant-ingest' }, h('thead', {}, h('tr', {}, h('th', {}, 'Your campaign'), h('th', { class: 'num' }, 'Accepted'), h('th', { class: 'num' }, 'Rejected'))),
          h('tbody', {}, mine.campaigns.map((c) => h('tr', { 'data-campaign': c.campaign }, h('td', {}, names.get(c.campaign) || c.campaign), h('td', { class: 'num' }, fmt(c.accepted)),
            h('td', { class: 'num' }, fmt(Object.values(c.rejected || {}).reduce((a, b) => a + b, 0)))))))
          : h('p', { class: 'muted', id: 'tenant-ingest' }, 'No report for your campaigns has reached this node since it started.'))] :
      !ingest ? h('p', { class: 'muted' }, 'This aggregator does not publish its metrics here.') : [
        h('p', { id: 'ingest-totals' }, `${fmt(ingest.accepted)} reports accepted · ${fmt(Object.values(ingest.rejects).reduce((a, b) => a + b, 0))} rejected · ${fmt(ingest.overloaded)} batches turned away (429) · ${fmt(ingest.queue)} batches queued`),
        rejectRows.length ? h('table', { id: 'rejects' }, h('thead', {}, h('tr', {}, h('th', {}, 'Rejected because'), h('th', { class: 'num' }, 'Reports'))), h('tbody', {}, rejectRows))
          : h('p', { class: 'muted', id: 'rejects' }, 'No report has been rejected.')]);
  }

  // ---- router ----------------------------------------------------------

  async function route() {
    if (!token()) { viewSignIn(); return; }
    if (!document.getElementById('identity')) {
      try { await startSession(); } catch (e) {
        if (e.status === 401) { signOut(); viewSignIn('Your session ended; sign in again.'); return; }
        render(h('h1', {}, 'Wisp'), errorBox(e)); // keep the token: a retry may reach the aggregator
        return;
      }
    }
    const hash = location.hash || '#/';
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.getAttribute('href') === hash);
    let m;
    if ((m = hash.match(/^#\/campaign\/(.+)$/))) return viewCampaign(decodeURIComponent(m[1]));
    if (hash === '#/new') return viewNew();
    if ((m = hash.match(/^#\/new\?from=(.+)$/))) return viewNew(decodeURIComponent(m[1]));
    if (hash === '#/health') return viewHealth();
    return viewCampaigns();
  }

  // Exposed for the browser tests, which call the chart and validation code
  // directly as well as driving the page.
  window.Wisp = { barChart, trendChart, niceTicks, validateCampaign, serverFieldErrors, segmentPoint, parseMetrics, campaignOf,
    topKView, epochRange, epochTick, plainMessage, APIError, reasonText, forecast, categoryLabel };

  window.addEventListener('hashchange', route);
  document.addEventListener('DOMContentLoaded', route);
})();
