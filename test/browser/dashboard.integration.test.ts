// The dashboard (GET /) in real headless Chromium against the real pipeline:
// generated events -> Kafka -> ingest -> ClickHouse -> the query service
// in-process -> the page. Every number the page shows is checked against the
// API's own answer for the same parameters, and the downloaded export against
// a direct fetch of the export endpoint.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQueryConfig } from '../../services/query/src/config.ts';
import { buildQueryServer } from '../../services/query/src/server.ts';
import { burst } from '../query/insights-data.ts';
import { testStack } from '../support/env.ts';
import { generateEvents } from '../support/generate.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const APP = 'app-1';
const KEY = 'dashboard-reader-key-0123456789';
const OTHER_APP_KEY = 'dashboard-other-app-key-0123456789';
// Not UTC, so the page must send its own zone and days are local days.
const TZ = 'Europe/Berlin';
const CARDS = [
  'trend-card',
  'pressure-card',
  'exposure-card',
  'campaigns-card',
  'events-card',
  'winback-card',
] as const;
const SCREENSHOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../artifacts/browser/dashboard.png');

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
// biome-ignore lint/suspicious/noExplicitAny: API answers are checked field by field below.
type Json = Record<string, any>;

function todayIn(tz: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());
}

function addDays(isoDate: string, days: number): string {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

describe('dashboard in headless Chromium', () => {
  let p: TestPipeline;
  let server: Awaited<ReturnType<typeof buildQueryServer>>;
  let base = '';
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  /** One API answer, fetched directly (not through the page). */
  async function api(name: string, params: Record<string, string | number>, key = KEY): Promise<Json> {
    const query = new URLSearchParams(
      Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
    );
    const response = await fetch(`${base}/v1/apps/${APP}/optouts/${name}?${query}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(response.status, `${name}?${query}`).toBe(200);
    return (await response.json()) as Json;
  }

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const ctx = await browser.newContext({
      timezoneId: TZ,
      locale: 'en-GB',
      viewport: { width: 1360, height: 900 },
      reducedMotion: 'reduce',
      acceptDownloads: true,
    });
    const pg = await ctx.newPage();
    pg.on('pageerror', (error) => pageErrors.push(String(error)));
    return { context: ctx, page: pg };
  }

  /**
   * Waits until card `id` has finished (ready / empty / error) with the given
   * data-* attributes, and returns all its data-* attributes.
   */
  async function settled(pg: Page, id: string, attrs: Record<string, string> = {}, expected = 'ready') {
    const match = Object.entries(attrs)
      .map(([k, v]) => `[data-${k}="${v}"]`)
      .join('');
    const card = `[data-testid="${id}"]`;
    await pg.waitForSelector(
      [
        `${card}[data-state="ready"]${match}`,
        `${card}[data-state="empty"]${match}`,
        `${card}[data-state="error"]`,
      ].join(', '),
      { state: 'attached', timeout: 30_000 },
    );
    const locator = pg.getByTestId(id);
    const read = async (name: string) => (await locator.getAttribute(`data-${name}`)) ?? '';
    const state = await read('state');
    const overlay = await locator.locator('[data-role="overlay"]').textContent();
    expect(state, `${id} (${overlay})`).toBe(expected);
    return { state, overlay, total: Number(await read('total')), rows: Number(await read('rows')) };
  }

  const totalOfEvents = (body: Json) =>
    (body.events as Json[]).reduce((sum, e) => sum + (e.retain as number) + (e.churn as number), 0);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} not found: install Debian's Chromium with \`apt-get install chromium\``);
    }
    p = await createTestPipeline({ partitions: 2, prefix: 'browser' });
    // 40 days of data: last week, last month and a custom range all differ; a
    // burst of opt-outs three days ago makes a spike and a significant campaign.
    // Three, not six: Berlin's date is a day ahead of UTC's in the last hour or
    // two of the UTC day, and a burst on the UTC day six days back then fell
    // just before Berlin's last_week.
    const burstDay = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 3 * 86_400_000;
    await p.produce([
      ...generateEvents({ seed: 4242, now: Date.now(), apps: 1, users: 40, days: 40, campaigns: 6 }),
      ...burst(APP, burstDay),
    ]);
    await p.startIngest();
    await p.waitForCaughtUp(90_000);

    const stack = testStack();
    const config = parseQueryConfig({
      CLICKHOUSE_URL: stack.clickhouseUrl,
      CLICKHOUSE_USER: stack.readerUser,
      CLICKHOUSE_PASSWORD: stack.readerPassword,
      CLICKHOUSE_DATABASE: p.database,
      KAFKA_BROKERS: stack.brokers.join(','),
      TOPIC_CONTROL: p.controlTopic,
      API_KEYS: JSON.stringify([
        { key_sha256: sha256(KEY), apps: [APP] },
        { key_sha256: sha256(OTHER_APP_KEY), apps: ['some-other-app'] },
      ]),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    server = await buildQueryServer({ config });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    if (!address || typeof address === 'string') throw new Error('query server has no port');
    base = `http://127.0.0.1:${address.port}`;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    ({ context, page } = await newPage());
  }, 240_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.close().catch(() => {});
    await p?.cleanup();
  });

  it('serves the page and Chart.js with no internet access', async () => {
    const html = await fetch(`${base}/`);
    expect(html.status).toBe(200);
    expect(await html.text()).toContain('data-testid="trend-card"');
    const chart = await fetch(`${base}/assets/chart.umd.js`);
    expect(chart.status).toBe(200);
    // Every request the page makes goes to the query service itself.
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(base) && !request.url().startsWith('blob:')) foreign.push(request.url());
    });
    await page.goto(`${base}/`);
    expect(await page.evaluate('typeof Chart')).toBe('function');
    for (const id of CARDS) expect(await page.getByTestId(id).getAttribute('data-state')).toBe('idle');
    expect(await page.getByTestId('tz').inputValue()).toBe(TZ);
    expect(await page.getByTestId('custom-dates').isVisible()).toBe(false);
    expect(foreign).toEqual([]);
  });

  it('loads every chart with data once an app id and key are entered', async () => {
    await page.getByTestId('app-id').fill(APP);
    await page.getByTestId('api-key').fill(KEY);
    await page.getByTestId('load').click();

    const week = { period: 'last_week', tz: TZ, channel: 'PUSH' };
    const [trend, pressure, campaigns, events] = await Promise.all([
      api('trend', week),
      api('push-pressure', week),
      api('campaigns', { ...week, lookback_days: 7 }),
      api('events', { ...week, lookback_days: 7, count: 'total' }),
    ]);

    const trendCard = await settled(page, 'trend-card', { period: 'last_week' });
    expect(trend.totals.opt_outs).toBeGreaterThan(0);
    expect(trendCard.total).toBe(trend.totals.opt_outs);
    const totals = await page.getByTestId('trend-totals').textContent();
    expect(totals).toContain(`${trend.totals.opt_outs} opt-out`);
    expect(totals).toContain(`${trend.totals.users} user`);

    const pressureCard = await settled(page, 'pressure-card', { period: 'last_week' });
    expect(pressureCard.total).toBe(pressure.opt_outs);
    const stats = (await page.getByTestId('pressure-stats').textContent()) ?? '';
    expect(stats).toMatch(new RegExp(`p50:\\s*${pressure.p50} push(es)?\\b`));
    expect(stats).toMatch(new RegExp(`p90:\\s*${pressure.p90} push(es)?\\b`));
    expect(stats).toMatch(/mean:\s*\d+(\.\d)? push(es)?\b/);

    const campaignsCard = await settled(page, 'campaigns-card', { period: 'last_week', lookback: '7' });
    expect(campaigns.campaigns.length).toBeGreaterThan(0);
    expect(campaignsCard.rows).toBe(campaigns.campaigns.length);
    const rows = page.getByTestId('campaigns-table').locator('tbody tr');
    expect(await rows.count()).toBe(campaigns.campaigns.length);
    const first = campaigns.campaigns[0] as Json;
    const firstRow = (await rows.first().textContent()) ?? '';
    // An unknown (or empty) name shows the campaign id instead.
    expect(firstRow).toContain(first.campaign_name || first.campaign_id);
    for (const label of await rows.locator('th > span').allTextContents()) expect(label.trim()).not.toBe('');
    expect(firstRow).toContain(`${first.opt_outs} opt-out`);
    expect(firstRow).toMatch(/\d+\.\d%|–/);

    const eventsCard = await settled(page, 'events-card', {
      period: 'last_week',
      lookback: '7',
      count: 'total',
    });
    expect(totalOfEvents(events)).toBeGreaterThan(0);
    expect(eventsCard.total).toBe(totalOfEvents(events));
    const retained = await page.locator('[data-outcome="retained"]').textContent();
    expect(retained).toContain(`${events.outcomes.retained.opt_outs} opt-out`);
    expect(await page.locator('[data-outcome="churned"]').textContent()).toContain(
      `${events.outcomes.churned.users} user`,
    );

    for (const testid of [
      'trend-chart',
      'pressure-chart',
      'exposure-chart',
      'campaigns-chart',
      'events-chart',
      'winback-chart',
    ]) {
      const box = await page.getByTestId(testid).boundingBox();
      expect(box?.height ?? 0, testid).toBeGreaterThan(100);
    }

    // The key is kept for the session, never in the URL; a reload needs no new entry.
    expect(page.url()).not.toContain(KEY);
    expect(await page.evaluate('sessionStorage.getItem("optout.apiKey")')).toBe(KEY);
    expect(await page.getByTestId('api-key').inputValue()).toBe('');
    await page.reload();
    await settled(page, 'trend-card', { period: 'last_week' });
    expect(await page.getByTestId('app-id').inputValue()).toBe(APP);
  });

  it('shows spikes, the change against the previous period, exposure, lift and win-back', async () => {
    const week = { period: 'last_week', tz: TZ, channel: 'PUSH' };
    const [trend, exposure, campaigns, winback] = await Promise.all([
      api('trend', week),
      api('exposure', week),
      api('campaigns', { ...week, lookback_days: 7 }),
      api('winback', week),
    ]);

    // Spike days are marked, and each total says how it moved against the previous period.
    const spikes = (trend.days as Json[]).filter((d) => d.spike);
    expect(spikes.length).toBeGreaterThan(0);
    const trendCard = page.getByTestId('trend-card');
    await settled(page, 'trend-card', { period: 'last_week' });
    expect(await trendCard.getAttribute('data-spikes')).toBe(String(spikes.length));
    const spikeNote = (await page.getByTestId('trend-spikes').textContent()) ?? '';
    expect(spikeNote).toContain(`${spikes.length} spike`);
    expect(spikeNote).toContain(`${spikes[0]!.opt_outs} opt-outs`);
    const optOutChange = (await trendCard.locator('[data-change="opt_outs"]').textContent()) ?? '';
    const previous = trend.previous.opt_outs as number;
    expect(optOutChange).toContain(previous === 0 ? 'new' : `vs ${previous}`);
    expect(await trendCard.locator('[data-change="opt_outs"]').getAttribute('data-direction')).toBe(
      trend.totals.opt_outs > previous ? 'up' : trend.totals.opt_outs < previous ? 'down' : 'same',
    );
    expect(await page.getByTestId('trend-previous').textContent()).toContain('previous 7 days');

    // The exposure curve: one point per bucket, with its user-days.
    const exposureCard = await settled(page, 'exposure-card', { period: 'last_week' });
    expect(exposure.totals.user_days).toBeGreaterThan(0);
    expect(exposureCard.total).toBe(exposure.totals.user_days);
    expect(exposureCard.rows).toBe(exposure.buckets.length);
    const exposureStats = (await page.getByTestId('exposure-stats').textContent()) ?? '';
    expect(exposureStats.replace(/,/g, '')).toContain(`${exposure.totals.user_days} user-days`);
    expect(exposureStats).toContain('per 1,000');

    // Lift and the significance mark in the campaigns table, row by row.
    await settled(page, 'campaigns-card', { period: 'last_week', lookback: '7' });
    const significant = (campaigns.campaigns as Json[]).filter((c) => c.significant);
    expect(significant.length).toBeGreaterThan(0);
    const rows = page.getByTestId('campaigns-table').locator('tbody tr');
    for (let i = 0; i < campaigns.campaigns.length; i++) {
      const c = campaigns.campaigns[i] as Json;
      const row = rows.nth(i);
      expect(await row.getAttribute('data-campaign-id')).toBe(c.campaign_id);
      expect(await row.getAttribute('data-significant')).toBe(String(c.significant));
      const text = (await row.textContent()) ?? '';
      expect(text).toContain(c.lift === null ? '–' : `×${(c.lift as number).toFixed(2)}`);
      expect(text.includes('beyond chance')).toBe(c.significant);
    }
    expect(await page.getByTestId('campaigns-baseline').textContent()).toContain('Pooled opt-out rate');

    // Win-back windows, overall and per source.
    const winbackCard = await settled(page, 'winback-card', { period: 'last_week' });
    expect(winbackCard.total).toBe(winback.opt_outs);
    expect(await page.getByTestId('winback-card').getAttribute('data-won')).toBe(
      (winback.windows as Json[]).map((w) => w.won_back).join(','),
    );
    expect(winbackCard.rows).toBe(1 + winback.sources.length);
    expect((winback.windows as Json[])[1]!.won_back).toBeGreaterThan(0);
  });

  it('switching the period changes the trend (presets and Dates Between)', async () => {
    const week = await settled(page, 'trend-card', { period: 'last_week' });
    const month = await api('trend', { period: 'last_month', tz: TZ, channel: 'PUSH' });
    expect(month.totals.opt_outs).toBeGreaterThan(week.total);

    await page.getByTestId('period-last_month').click();
    expect(await page.getByTestId('period-last_month').getAttribute('aria-pressed')).toBe('true');
    expect((await settled(page, 'trend-card', { period: 'last_month' })).total).toBe(month.totals.opt_outs);
    for (const id of CARDS) await settled(page, id, { period: 'last_month' });
    expect(await page.getByTestId('range-label').textContent()).toContain('30 days');

    const to = addDays(todayIn(TZ), -10);
    const from = addDays(todayIn(TZ), -24);
    const custom = await api('trend', { period: 'custom', from, to, tz: TZ, channel: 'PUSH' });
    expect(custom.totals.opt_outs).not.toBe(month.totals.opt_outs);
    await page.getByTestId('period-custom').click();
    expect(await page.getByTestId('custom-dates').isVisible()).toBe(true);
    await page.getByTestId('date-from').fill(from);
    await page.getByTestId('date-to').fill(to);
    const customCard = await settled(page, 'trend-card', { period: 'custom', from, to });
    expect(customCard.total).toBe(custom.totals.opt_outs);

    // Back to Last Month for the rest of the flow and the screenshot.
    await page.getByTestId('period-last_month').click();
    expect(await page.getByTestId('custom-dates').isVisible()).toBe(false);
    for (const id of CARDS) await settled(page, id, { period: 'last_month' });
    await mkdir(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('the lookback and the Total Event / Unique User switch change the events chart', async () => {
    const range = { period: 'last_month', tz: TZ, channel: 'PUSH' };
    const before = await settled(page, 'events-card', {
      period: 'last_month',
      lookback: '7',
      count: 'total',
    });
    const oneDay = await api('events', { ...range, lookback_days: 1, count: 'total' });
    const oneDayUnique = await api('events', { ...range, lookback_days: 1, count: 'unique' });
    expect(totalOfEvents(oneDay)).not.toBe(before.total);
    expect(totalOfEvents(oneDayUnique)).not.toBe(totalOfEvents(oneDay));

    await page.getByTestId('events-lookback').selectOption('1');
    const lookback = await settled(page, 'events-card', { lookback: '1', count: 'total' });
    expect(lookback.total).toBe(totalOfEvents(oneDay));
    expect(lookback.rows).toBe(oneDay.events.length);

    await page.getByTestId('count-unique').click();
    const unique = await settled(page, 'events-card', { lookback: '1', count: 'unique' });
    expect(unique.total).toBe(totalOfEvents(oneDayUnique));
    expect(await page.locator('[data-outcome="retained"]').textContent()).toContain(
      `${oneDayUnique.outcomes.retained.opt_outs} opt-out`,
    );

    // The campaigns lookback reloads the campaigns card (and only it).
    const campaigns30 = await api('campaigns', { ...range, lookback_days: 30 });
    const trendBefore = await page.getByTestId('trend-card').getAttribute('data-total');
    await page.getByTestId('campaigns-lookback').selectOption('30');
    const campaigns = await settled(page, 'campaigns-card', { lookback: '30' });
    expect(campaigns.rows).toBe(campaigns30.campaigns.length);
    expect(campaigns.total).toBe(
      (campaigns30.campaigns as Json[]).reduce((sum, c) => sum + (c.opt_outs as number), 0),
    );
    expect(await page.getByTestId('trend-card').getAttribute('data-total')).toBe(trendBefore);
  });

  it('Export downloads exactly the API export of the opt-out range, whatever the chart controls', async () => {
    const exportRequest = page.waitForRequest((r) => r.url().includes('/optouts/export'));
    const download = page.waitForEvent('download');
    await page.getByTestId('export').click();
    const requestUrl = new URL((await exportRequest).url());
    const file = await download;

    // The scope is the opt-out range + channel: no chart control travels with it.
    expect(Object.fromEntries(requestUrl.searchParams)).toEqual({
      period: 'last_month',
      tz: TZ,
      channel: 'PUSH',
      format: 'csv',
    });
    const direct = await fetch(`${base}${requestUrl.pathname}${requestUrl.search}`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(direct.status).toBe(200);
    const expected = await direct.text();
    const disposition = direct.headers.get('content-disposition') ?? '';
    expect(disposition).toContain(`filename="${file.suggestedFilename()}"`);
    expect(file.suggestedFilename()).toMatch(
      /^optouts-app-1-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}-PUSH\.csv$/,
    );

    const path = await file.path();
    const downloaded = await readFile(path, 'utf8');
    const lines = (text: string) => text.split(/\r\n/).filter((line) => line !== '');
    expect(lines(downloaded)[0]).toBe(
      'user_id,external_id,opted_out_at,opt_outs_in_range,source,currently_opted_out,identifiers',
    );
    expect(lines(downloaded).length).toBeGreaterThan(1);
    expect(lines(downloaded)).toEqual(lines(expected));
    expect(downloaded).toBe(expected);
    await page.waitForSelector('[data-testid="export-status"][data-state="done"]');
    expect(pageErrors).toEqual([]);
  });

  it('a channel without opt-outs shows the empty state on every chart', async () => {
    // The generated data has PUSH and EMAIL consent only.
    const sms = await api('trend', { period: 'last_month', tz: TZ, channel: 'SMS' });
    expect(sms.totals.opt_outs + sms.totals.opt_ins).toBe(0);
    await page.getByTestId('channel').selectOption('SMS');
    for (const id of CARDS.filter((c) => c !== 'exposure-card')) {
      const card = await settled(page, id, { period: 'last_month', channel: 'SMS' }, 'empty');
      expect(card.total).toBe(0);
      expect(card.overlay).toContain('No opt-outs in this period');
    }
    // Nobody ever stated an SMS consent, so every known user is at risk on every day: user-days, no opt-outs.
    const exposure = await api('exposure', { period: 'last_month', tz: TZ, channel: 'SMS' });
    const card = await settled(page, 'exposure-card', { period: 'last_month', channel: 'SMS' });
    expect(card.total).toBe(exposure.totals.user_days);
    expect(exposure.totals.user_days).toBeGreaterThan(0);
    expect(await page.getByTestId('exposure-card').getAttribute('data-opt-outs')).toBe('0');
    expect(await page.getByTestId('campaigns-table').locator('tbody tr').count()).toBe(1);
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-empty.png'), fullPage: true });
  });

  it('a bad key or a key without the app shows a clear message', async () => {
    const { context: other, page: pg } = await newPage();
    try {
      await pg.goto(`${base}/`);
      await pg.getByTestId('app-id').fill(APP);
      await pg.getByTestId('api-key').fill('not-a-valid-key');
      await pg.getByTestId('load').click();
      await pg.waitForSelector('[data-testid="banner"]:not([hidden])');
      for (const id of CARDS) await pg.waitForSelector(`[data-testid="${id}"][data-state="error"]`);
      expect(await pg.getByTestId('banner').textContent()).toContain('API key was not accepted (401');
      expect(await pg.getByTestId('trend-card').getAttribute('data-error-code')).toBe('unauthorized');
      expect(pg.url()).not.toContain('not-a-valid-key');

      await pg.getByTestId('api-key').fill(OTHER_APP_KEY);
      await pg.getByTestId('load').click();
      await pg.waitForSelector('[data-testid="trend-card"][data-state="error"][data-error-code="forbidden"]');
      const banner = await pg.getByTestId('banner').textContent();
      expect(banner).toContain('does not grant access to app “app-1” (403');

      // The right key clears the message and loads the report.
      await pg.getByTestId('api-key').fill(KEY);
      await pg.getByTestId('load').click();
      await settled(pg, 'trend-card', { period: 'last_week' });
      expect(await pg.getByTestId('banner').isVisible()).toBe(false);
    } finally {
      await other.close();
    }
  });
});
