// The Opt Out dashboard: settings, the report cards and the export.
// Every card shows its state on its container for people (overlay) and for the
// browser test (data-state="idle|loading|ready|empty|error", data-total, ...).
import { ApiError, downloadExport, getReport } from './api.js';
import {
  clear,
  drawCampaigns,
  drawEvents,
  drawExposure,
  drawPushPressure,
  drawTrend,
  drawWinback,
} from './charts.js';
import {
  addDays,
  change,
  count,
  decimalWithUnit,
  formatInt,
  lift,
  longDay,
  perThousand,
  rate,
  shortDay,
  todayIn,
} from './format.js';

const STORAGE = { appId: 'optout.appId', key: 'optout.apiKey', settings: 'optout.settings' };
const CHANNEL_NAMES = { PUSH: 'Push', EMAIL: 'Email', SMS: 'SMS', IN_APP: 'In-app' };
const PERIOD_NAMES = {
  last_week: 'Last Week',
  last_month: 'Last Month',
  last_year: 'Last Year',
  custom: 'Dates Between',
};
const EMPTY = 'No opt-outs in this period';

const $ = (selector, root = document) => root.querySelector(selector);
const byTestId = (id) => $(`[data-testid="${id}"]`);

// ---------------------------------------------------------------------------
// State: the key and app id live in sessionStorage (this tab, this session);
// the key is never put in a URL.

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function readSettings() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE.settings) ?? '{}') ?? {};
  } catch {
    return {};
  }
}

const saved = readSettings();
const state = {
  appId: sessionStorage.getItem(STORAGE.appId) ?? '',
  key: sessionStorage.getItem(STORAGE.key) ?? '',
  period: saved.period ?? 'last_week',
  from: saved.from ?? '',
  to: saved.to ?? '',
  tz: saved.tz ?? browserZone,
  channel: saved.channel ?? 'PUSH',
  campaignsLookback: saved.campaignsLookback ?? 7,
  eventsLookback: saved.eventsLookback ?? 7,
  eventsCount: saved.eventsCount ?? 'total',
};

function saveSettings() {
  const { appId: _app, key: _key, ...settings } = state;
  sessionStorage.setItem(STORAGE.settings, JSON.stringify(settings));
}

/** The opt-out range + channel: the only parameters the export depends on. */
function rangeParams() {
  const params = { period: state.period, tz: state.tz, channel: state.channel };
  if (state.period === 'custom') Object.assign(params, { from: state.from, to: state.to });
  return params;
}

function customRangeProblem() {
  if (state.period !== 'custom') return undefined;
  if (!state.from || !state.to) return 'Choose both dates of the range.';
  if (state.from > state.to) return 'The first date is after the last date.';
  return undefined;
}

// ---------------------------------------------------------------------------
// Cards

const cards = {
  trend: byTestId('trend-card'),
  pressure: byTestId('pressure-card'),
  exposure: byTestId('exposure-card'),
  campaigns: byTestId('campaigns-card'),
  events: byTestId('events-card'),
  winback: byTestId('winback-card'),
};
const sequence = Object.fromEntries(Object.keys(cards).map((name) => [name, 0]));
const inFlight = {};

/** Shows `state` on a card; `message` goes in its overlay (loading, empty, error). */
function setCardState(card, cardState, message = '') {
  card.dataset.state = cardState;
  card.setAttribute('aria-busy', String(cardState === 'loading'));
  const overlay = $('[data-role="overlay"]', card);
  overlay.replaceChildren();
  if (cardState === 'loading') {
    const spinner = document.createElement('span');
    spinner.className = 'spinner';
    overlay.append(spinner, document.createTextNode(message || 'Loading…'));
  } else if (message) {
    overlay.textContent = message;
  }
}

function errorText(error) {
  if (error.isAuth) return 'Not authorised: see the message above.';
  const details = (error.details ?? []).map((d) => `${d.param}: ${d.message}`).join('; ');
  if (error.status === 504) return 'The query took too long. Try a shorter period.';
  if (error.status === 503) return 'The data store is unavailable right now. Try again in a moment.';
  return details ? `${error.message} (${details})` : error.message;
}

/**
 * Runs one card's request: shows loading, drops answers that a newer request
 * has overtaken, and turns failures into the card's error state.
 */
async function load(name, fetchAndRender) {
  const card = cards[name];
  const token = ++sequence[name];
  inFlight[name]?.abort();
  const controller = new AbortController();
  inFlight[name] = controller;
  setCardState(card, 'loading');
  try {
    await fetchAndRender(controller.signal, () => token === sequence[name]);
  } catch (error) {
    if (error?.name === 'AbortError' || token !== sequence[name]) return;
    console.error(`${name}:`, error);
    const apiError =
      error instanceof ApiError ? error : new ApiError(0, 'client', String(error?.message ?? error));
    if (apiError.isAuth) showAuthProblem(apiError);
    card.dataset.total = '';
    card.dataset.errorCode = apiError.code;
    setCardState(card, 'error', errorText(apiError));
  }
}

function markReady(card, data, total, empty, emptyMessage = EMPTY) {
  card.dataset.total = String(total);
  card.dataset.period = data.range.period;
  card.dataset.from = data.range.from;
  card.dataset.to = data.range.to;
  card.dataset.channel = data.channel;
  delete card.dataset.errorCode;
  setCardState(card, empty ? 'empty' : 'ready', empty ? emptyMessage : '');
}

function loadTrend() {
  const card = cards.trend;
  return load('trend', async (signal, current) => {
    const data = await getReport(state.appId, 'trend', rangeParams(), state.key, signal);
    if (!current()) return;
    const { totals, previous } = data;
    $('[data-total="opt_outs"]', card).textContent = count(totals.opt_outs, 'opt-out');
    $('[data-total="opt_ins"]', card).textContent = count(totals.opt_ins, 'opt-in');
    $('[data-total="users"]', card).textContent = count(totals.users, 'user');
    // Each total against the same number of days just before the period.
    for (const name of ['opt_outs', 'opt_ins', 'users']) {
      const cell = $(`[data-change="${name}"]`, card);
      cell.textContent = change(totals[name], previous[name]);
      cell.dataset.direction =
        totals[name] > previous[name] ? 'up' : totals[name] < previous[name] ? 'down' : 'same';
    }
    byTestId('trend-previous').textContent =
      `Changes against the previous ${count(data.days.length, 'day')}: ${longDay(previous.from)} – ${longDay(previous.to)}`;
    const spikes = data.days.filter((d) => d.spike);
    const spikeNote = byTestId('trend-spikes');
    spikeNote.replaceChildren();
    if (spikes.length === 0) {
      spikeNote.textContent = 'No spike: no day stands out from the 28 days before it.';
    } else {
      const lead = document.createElement('strong');
      lead.textContent = `▲ ${count(spikes.length, 'spike')}: `;
      spikeNote.append(
        lead,
        spikes
          .map(
            (d) =>
              `${shortDay(d.date)} (${count(d.opt_outs, 'opt-out')}, usually ${Number.isInteger(d.baseline) ? formatInt(d.baseline) : d.baseline.toFixed(1)})`,
          )
          .join(' · '),
      );
    }
    card.dataset.spikes = String(spikes.length);
    // Opt-ins alone still make a chart worth showing.
    const empty = totals.opt_outs === 0 && totals.opt_ins === 0;
    if (empty) clear($('canvas', card));
    else drawTrend($('canvas', card), data.days);
    showRange(data.range, data.channel);
    markReady(card, data, totals.opt_outs, empty);
  });
}

function loadPressure() {
  const card = cards.pressure;
  return load('pressure', async (signal, current) => {
    const data = await getReport(state.appId, 'push-pressure', rangeParams(), state.key, signal);
    if (!current()) return;
    const stat = (name) => $(`[data-stat="${name}"]`, card);
    stat('opt_outs').textContent = count(data.opt_outs, 'opt-out');
    stat('mean').textContent = decimalWithUnit(data.mean, 'push', 'pushes');
    stat('p50').textContent = data.p50 === null ? '–' : count(data.p50, 'push', 'pushes');
    stat('p90').textContent = data.p90 === null ? '–' : count(data.p90, 'push', 'pushes');
    $('[data-role="window-note"]', card).textContent =
      `Pushes received in the ${data.window_days} days before each opt-out (bucket "${data.max_bucket}+" = ${data.max_bucket} or more)`;
    const empty = data.opt_outs === 0;
    if (empty) clear($('canvas', card));
    else drawPushPressure($('canvas', card), data.histogram, data.window_days);
    markReady(card, data, data.opt_outs, empty);
  });
}

function loadExposure() {
  const card = cards.exposure;
  return load('exposure', async (signal, current) => {
    const data = await getReport(state.appId, 'exposure', rangeParams(), state.key, signal);
    if (!current()) return;
    const stat = (name) => $(`[data-stat="${name}"]`, card);
    stat('user_days').textContent = count(data.totals.user_days, 'user-day');
    stat('opt_outs').textContent = formatInt(data.totals.opt_outs);
    stat('rate').textContent = perThousand(data.totals.rate);
    $('[data-role="window-note"]', card).textContent =
      `Opt-outs per 1,000 user-days at risk, by pushes received in the ${data.window_days} days before the day ` +
      `(bucket "${data.max_bucket}+" = ${data.max_bucket} or more); bars: the user-days of each bucket`;
    const empty = data.totals.user_days === 0;
    if (empty) clear($('canvas', card));
    else drawExposure($('canvas', card), data.buckets, data.window_days);
    card.dataset.optOuts = String(data.totals.opt_outs);
    card.dataset.rows = String(data.buckets.length);
    markReady(card, data, data.totals.user_days, empty, 'No users at risk in this period');
  });
}

function loadWinback() {
  const card = cards.winback;
  const body = $('tbody', card);
  return load('winback', async (signal, current) => {
    const data = await getReport(state.appId, 'winback', rangeParams(), state.key, signal);
    if (!current()) return;
    const empty = data.opt_outs === 0;
    if (empty) clear($('canvas', card));
    else drawWinback($('canvas', card), data.windows);
    const rows = [{ source: 'All sources', opt_outs: data.opt_outs, windows: data.windows, all: true }]
      .concat(data.sources)
      .map((s) => {
        const row = document.createElement('tr');
        const head = document.createElement('th');
        head.scope = 'row';
        head.textContent = s.all ? s.source : (s.source ?? 'no source');
        row.append(head);
        const total = s.opt_outs;
        const share = (n) => (total === 0 ? '' : ` (${Math.round((100 * n) / total)}%)`);
        for (const text of [
          formatInt(total),
          ...s.windows.map((w) => `${formatInt(w.won_back)}${share(w.won_back)}`),
        ]) {
          const td = document.createElement('td');
          td.className = 'num';
          td.textContent = text;
          row.append(td);
        }
        s.windows.forEach((w) => {
          row.dataset[`won${w.days}`] = String(w.won_back);
          row.dataset[`pending${w.days}`] = String(w.pending);
        });
        return row;
      });
    body.replaceChildren(...(empty ? [] : rows));
    card.dataset.rows = String(empty ? 0 : rows.length);
    card.dataset.won = data.windows.map((w) => w.won_back).join(',');
    markReady(card, data, data.opt_outs, empty);
  });
}

// An empty name is no name: show the id rather than a blank label.
const campaignLabel = (c) => c.campaign_name || c.campaign_id;

function campaignRow(c) {
  const row = document.createElement('tr');
  const cells = [
    [campaignLabel(c), c.campaign_name ? `id ${c.campaign_id}` : 'name not known'],
    [count(c.opt_outs, 'opt-out')],
    [count(c.users, 'user')],
    [
      count(c.interactions, 'interaction'),
      `${formatInt(c.opens)} opens · ${formatInt(c.clicks)} clicks · ${formatInt(c.dismisses)} dismisses · ${formatInt(c.conversions)} conversions`,
    ],
    [count(c.last_touch_opt_outs, 'opt-out')],
    [count(c.reach, 'user')],
    [rate(c.opt_out_rate)],
    [lift(c.lift)],
    [
      c.significant ? '● beyond chance' : '',
      c.significant
        ? 'The 95% Wilson lower bound of its opt-out rate is above the pooled rate'
        : 'Not distinguishable from the pooled rate at 95%',
    ],
  ];
  cells.forEach(([text, title], i) => {
    const cell = document.createElement(i === 0 ? 'th' : 'td');
    if (i === 0) {
      cell.scope = 'row';
      const name = document.createElement('span');
      name.textContent = text;
      const id = document.createElement('small');
      id.textContent = title;
      cell.append(name, id);
    } else {
      cell.className = i === cells.length - 1 ? 'significance' : 'num';
      cell.textContent = text;
      if (title) cell.title = title;
    }
    row.append(cell);
  });
  row.dataset.campaignId = c.campaign_id;
  row.dataset.significant = String(c.significant);
  if (c.significant) row.classList.add('significant');
  return row;
}

function loadCampaigns() {
  const card = cards.campaigns;
  const body = $('tbody', card);
  return load('campaigns', async (signal, current) => {
    const params = { ...rangeParams(), lookback_days: state.campaignsLookback };
    const data = await getReport(state.appId, 'campaigns', params, state.key, signal);
    if (!current()) return;
    const list = data.campaigns;
    const empty = list.length === 0;
    byTestId('campaigns-baseline').textContent =
      data.baseline_rate === null
        ? 'No campaign reached anyone in this period.'
        : `Pooled opt-out rate of every campaign sent in the period: ${rate(data.baseline_rate)}; lift compares each campaign with it.`;
    card.dataset.significant = String(list.filter((c) => c.significant).length);
    // Height follows the number of bars so long names stay readable.
    $('[data-role="campaigns-box"]', card).style.height = `${Math.max(200, 30 * list.length + 60)}px`;
    if (empty) clear($('canvas', card));
    else drawCampaigns($('canvas', card), list, campaignLabel);
    if (empty) {
      const row = document.createElement('tr');
      const cell = document.createElement('td');
      cell.colSpan = 9;
      cell.className = 'empty-row';
      cell.textContent = `No opt-outs in this period with a campaign interaction in the ${data.lookback_days} days before`;
      row.append(cell);
      body.replaceChildren(row);
    } else {
      body.replaceChildren(...list.map(campaignRow));
    }
    card.dataset.lookback = String(data.lookback_days);
    card.dataset.rows = String(list.length);
    markReady(
      card,
      data,
      list.reduce((sum, c) => sum + c.opt_outs, 0),
      empty,
      `No opt-outs in this period with a campaign interaction in the ${data.lookback_days} days before`,
    );
  });
}

function outcomeText({ opt_outs, users }) {
  return `${count(opt_outs, 'opt-out')} · ${count(users, 'user')}`;
}

function loadEvents() {
  const card = cards.events;
  return load('events', async (signal, current) => {
    const params = { ...rangeParams(), lookback_days: state.eventsLookback, count: state.eventsCount };
    const data = await getReport(state.appId, 'events', params, state.key, signal);
    if (!current()) return;
    for (const outcome of ['retained', 'churned', 'pending']) {
      $(`[data-outcome="${outcome}"]`, card).textContent = outcomeText(data.outcomes[outcome]);
    }
    const unit = data.count === 'unique' ? 'users' : 'events';
    const list = data.events;
    const optOuts = Object.values(data.outcomes).reduce((sum, o) => sum + o.opt_outs, 0);
    const empty = list.length === 0;
    if (empty) clear($('canvas', card));
    else drawEvents($('canvas', card), list, unit);
    card.dataset.lookback = String(data.lookback_days);
    card.dataset.count = data.count;
    card.dataset.rows = String(list.length);
    markReady(
      card,
      data,
      list.reduce((sum, e) => sum + e.retain + e.churn, 0),
      empty,
      optOuts === 0
        ? EMPTY
        : `No events in the ${data.lookback_days} days before a retained or churned opt-out`,
    );
  });
}

const loaders = {
  trend: loadTrend,
  pressure: loadPressure,
  exposure: loadExposure,
  campaigns: loadCampaigns,
  events: loadEvents,
  winback: loadWinback,
};

// ---------------------------------------------------------------------------
// Banner (auth problems and hints) and the range summary

const banner = byTestId('banner');

function showBanner(kind, title, detail = '') {
  banner.className = `banner ${kind}`;
  banner.dataset.kind = kind;
  const strong = document.createElement('strong');
  strong.textContent = title;
  banner.replaceChildren(strong);
  if (detail) {
    const span = document.createElement('span');
    span.textContent = ` ${detail}`;
    banner.append(span);
  }
  banner.hidden = false;
}

function hideBanner() {
  banner.hidden = true;
  banner.replaceChildren();
  delete banner.dataset.kind;
}

function showAuthProblem(error) {
  if (error.status === 401) {
    showBanner(
      'error',
      'The API key was not accepted (401 unauthorized).',
      'Check the key and enter it again; it is kept for this browser session only.',
    );
  } else {
    showBanner(
      'error',
      `This API key does not grant access to app “${state.appId}” (403 forbidden).`,
      'Choose an app the key grants, or use another key.',
    );
  }
}

function showRange(range, channel) {
  const days =
    Math.round((Date.parse(`${range.to}T00:00:00Z`) - Date.parse(`${range.from}T00:00:00Z`)) / 86_400_000) +
    1;
  byTestId('range-label').textContent =
    `${PERIOD_NAMES[range.period]}: ${longDay(range.from)} – ${longDay(range.to)} · ${count(days, 'day')} · ${range.tz} · ${CHANNEL_NAMES[channel] ?? channel}`;
}

// ---------------------------------------------------------------------------
// Loading

function ready() {
  return state.appId !== '' && state.key !== '';
}

function idle(message) {
  for (const [name, card] of Object.entries(cards)) {
    sequence[name]++;
    inFlight[name]?.abort();
    setCardState(card, 'idle', message);
  }
}

function reload(which = Object.keys(loaders)) {
  byTestId('export').disabled = !ready();
  if (!ready()) {
    idle('Enter an app id and an API key above to see the report.');
    return;
  }
  const problem = customRangeProblem();
  if (problem) {
    byTestId('range-label').textContent = problem;
    for (const name of which) setCardState(cards[name], 'idle', problem);
    byTestId('export').disabled = true;
    return;
  }
  if (banner.dataset.kind === 'error') hideBanner();
  if (which.includes('trend')) {
    // The range or channel changed: an earlier export's note no longer applies.
    const status = byTestId('export-status');
    status.textContent = '';
    delete status.dataset.state;
  }
  saveSettings();
  for (const name of which) loaders[name]();
}

// ---------------------------------------------------------------------------
// Controls

function fillSelect(select, values, label, selected) {
  select.replaceChildren(
    ...values.map((value) => {
      const option = document.createElement('option');
      option.value = String(value);
      option.textContent = label(value);
      option.selected = String(value) === String(selected);
      return option;
    }),
  );
}

function timeZones() {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  const all = new Set([browserZone, 'UTC', ...zones]);
  if (state.tz) all.add(state.tz);
  return [...all].sort((a, b) => (a === browserZone ? -1 : b === browserZone ? 1 : a.localeCompare(b)));
}

function setPressed(group, attribute, value) {
  for (const button of group.querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(button.dataset[attribute] === value));
  }
}

function showPeriod() {
  setPressed(byTestId('period'), 'period', state.period);
  byTestId('custom-dates').hidden = state.period !== 'custom';
  byTestId('date-from').value = state.from;
  byTestId('date-to').value = state.to;
}

function init() {
  const appInput = byTestId('app-id');
  const keyInput = byTestId('api-key');
  appInput.value = state.appId;
  if (state.key) keyInput.placeholder = 'key kept for this session';

  const days = Array.from({ length: 30 }, (_, i) => i + 1);
  const dayLabel = (d) => String(d);
  fillSelect(byTestId('tz'), timeZones(), (z) => (z === browserZone ? `${z} (this browser)` : z), state.tz);
  byTestId('channel').value = state.channel;
  fillSelect(byTestId('campaigns-lookback'), days, dayLabel, state.campaignsLookback);
  fillSelect(byTestId('events-lookback'), days, dayLabel, state.eventsLookback);
  setPressed(byTestId('events-count'), 'count', state.eventsCount);
  showPeriod();

  byTestId('auth-form').addEventListener('submit', (event) => {
    event.preventDefault();
    state.appId = appInput.value.trim();
    sessionStorage.setItem(STORAGE.appId, state.appId);
    const typed = keyInput.value.trim();
    if (typed) {
      state.key = typed;
      sessionStorage.setItem(STORAGE.key, typed);
      keyInput.value = '';
      keyInput.placeholder = 'key kept for this session';
    }
    if (!state.appId) showBanner('info', 'Enter the app id to report on.');
    else if (!state.key) showBanner('info', 'Enter an API key.', 'It is kept for this browser session only.');
    else hideBanner();
    reload();
  });

  byTestId('forget-key').addEventListener('click', () => {
    state.key = '';
    sessionStorage.removeItem(STORAGE.key);
    keyInput.value = '';
    keyInput.placeholder = 'entered once, kept for the session';
    showBanner('info', 'The API key was removed from this session.');
    reload();
  });

  byTestId('period').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-period]');
    if (!button || button.dataset.period === state.period) return;
    state.period = button.dataset.period;
    if (state.period === 'custom' && (!state.from || !state.to)) {
      state.to = todayIn(state.tz);
      state.from = addDays(state.to, -29);
    }
    showPeriod();
    reload();
  });

  for (const [id, field] of [
    ['date-from', 'from'],
    ['date-to', 'to'],
  ]) {
    byTestId(id).addEventListener('change', (event) => {
      state[field] = event.target.value;
      reload();
    });
  }

  byTestId('tz').addEventListener('change', (event) => {
    state.tz = event.target.value;
    reload();
  });
  byTestId('channel').addEventListener('change', (event) => {
    state.channel = event.target.value;
    reload();
  });
  byTestId('campaigns-lookback').addEventListener('change', (event) => {
    state.campaignsLookback = Number(event.target.value);
    reload(['campaigns']);
  });
  byTestId('events-lookback').addEventListener('change', (event) => {
    state.eventsLookback = Number(event.target.value);
    reload(['events']);
  });
  byTestId('events-count').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-count]');
    if (!button || button.dataset.count === state.eventsCount) return;
    state.eventsCount = button.dataset.count;
    setPressed(byTestId('events-count'), 'count', state.eventsCount);
    reload(['events']);
  });

  byTestId('export').addEventListener('click', exportCsv);
  reload();
}

async function exportCsv() {
  const button = byTestId('export');
  const status = byTestId('export-status');
  if (!ready() || customRangeProblem()) return;
  button.disabled = true;
  status.dataset.state = 'loading';
  status.textContent = 'Preparing the export…';
  try {
    const { fileName, bytes } = await downloadExport(state.appId, rangeParams(), state.key);
    status.dataset.state = 'done';
    status.textContent = `Saved ${fileName} (${formatInt(Math.max(1, Math.round(bytes / 1024)))} KB).`;
  } catch (error) {
    const apiError =
      error instanceof ApiError ? error : new ApiError(0, 'client', String(error?.message ?? error));
    if (apiError.isAuth) showAuthProblem(apiError);
    status.dataset.state = 'error';
    status.textContent = `Export failed: ${errorText(apiError)}`;
  } finally {
    button.disabled = !ready();
  }
}

init();
