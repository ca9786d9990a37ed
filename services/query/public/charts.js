// Chart.js (the UMD build at /assets/chart.umd.js, global `Chart`) set up for
// the report charts. Each render replaces the previous chart on its canvas.
import { formatInt, shortDay } from './format.js';

const { Chart } = globalThis;

export const COLORS = {
  spike: '#b91c1c',
  baseline: '#9ca3af',
  exposure: '#c2410c',
  userDays: 'rgba(106, 90, 205, 0.28)',
  pending: '#9ca3af',
  optOut: '#e0565b',
  optIn: '#3aa676',
  users: '#3b6fd8',
  retain: '#3aa676',
  churn: '#e0565b',
  bar: '#6a5acd',
  grid: 'rgba(31, 41, 55, 0.08)',
  text: '#4b5563',
};

if (Chart) {
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = COLORS.text;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  Chart.defaults.plugins.tooltip.mode = 'index';
  Chart.defaults.plugins.tooltip.intersect = false;
  if (window.matchMedia('(prefers-reduced-motion: reduce)').matches) Chart.defaults.animation = false;
}

const charts = new WeakMap();

function draw(canvas, config) {
  if (!Chart) throw new Error('Chart.js did not load (/assets/chart.umd.js)');
  charts.get(canvas)?.destroy();
  const chart = new Chart(canvas, config);
  charts.set(canvas, chart);
  return chart;
}

export function clear(canvas) {
  charts.get(canvas)?.destroy();
  charts.delete(canvas);
}

const countAxis = (title) => ({
  beginAtZero: true,
  grid: { color: COLORS.grid },
  ticks: { precision: 0, callback: (value) => formatInt(value) },
  title: { display: Boolean(title), text: title },
});

const plainAxis = (title) => ({ grid: { display: false }, title: { display: Boolean(title), text: title } });

/**
 * Per day: opt-outs and opt-ins as bars, distinct opting-out users as a line,
 * the 28-day baseline as a dashed line and the spike days as red triangles on
 * top of their bars.
 */
export function drawTrend(canvas, days) {
  return draw(canvas, {
    data: {
      labels: days.map((d) => shortDay(d.date)),
      datasets: [
        {
          type: 'line',
          label: 'Spike',
          data: days.map((d) => (d.spike ? d.opt_outs : null)),
          showLine: false,
          pointStyle: 'triangle',
          pointRadius: 8,
          pointHoverRadius: 9,
          borderColor: COLORS.spike,
          backgroundColor: COLORS.spike,
          order: 0,
        },
        {
          type: 'line',
          label: 'Baseline (median of the 28 days before)',
          data: days.map((d) => d.baseline),
          borderColor: COLORS.baseline,
          borderDash: [5, 4],
          borderWidth: 1.5,
          pointRadius: 0,
          order: 1,
        },
        {
          type: 'bar',
          label: 'Opt-outs',
          data: days.map((d) => d.opt_outs),
          backgroundColor: COLORS.optOut,
          order: 2,
        },
        {
          type: 'bar',
          label: 'Opt-ins',
          data: days.map((d) => d.opt_ins),
          backgroundColor: COLORS.optIn,
          order: 3,
        },
        {
          type: 'line',
          label: 'Users opting out',
          data: days.map((d) => d.users),
          borderColor: COLORS.users,
          backgroundColor: COLORS.users,
          pointRadius: days.length > 60 ? 0 : 3,
          cubicInterpolationMode: 'monotone',
          order: 1,
        },
      ],
    },
    options: {
      maintainAspectRatio: false,
      scales: { x: { ...plainAxis(), ticks: { autoSkip: true, maxRotation: 0 } }, y: countAxis('per day') },
      plugins: {
        // Legend in dataset order (Chart.js would follow the drawing order).
        legend: { labels: { sort: (a, b) => a.datasetIndex - b.datasetIndex } },
        tooltip: {
          callbacks: {
            title: (items) => days[items[0].dataIndex].date,
            label: (item) =>
              item.dataset.label === 'Spike'
                ? `Spike: ${formatInt(item.raw)} opt-outs against a baseline of ${days[item.dataIndex].baseline}`
                : `${item.dataset.label}: ${formatInt(item.raw)}`,
          },
        },
      },
    },
  });
}

/**
 * The exposure curve: opt-outs per 1,000 user-days at risk by pushes received
 * in the window before the day (line, left axis), over the user-days of each
 * bucket (bars, right axis), so the rate of a thin bucket reads as such.
 */
export function drawExposure(canvas, buckets, windowDays) {
  return draw(canvas, {
    data: {
      labels: buckets.map((b) => b.pushes),
      datasets: [
        {
          type: 'line',
          label: 'Opt-outs per 1,000 user-days',
          data: buckets.map((b) => (b.rate === null ? null : b.rate * 1000)),
          borderColor: COLORS.exposure,
          backgroundColor: COLORS.exposure,
          pointRadius: 4,
          spanGaps: false,
          yAxisID: 'rate',
          order: 1,
        },
        {
          type: 'bar',
          label: 'User-days at risk',
          data: buckets.map((b) => b.user_days),
          backgroundColor: COLORS.userDays,
          yAxisID: 'days',
          order: 2,
        },
      ],
    },
    options: {
      maintainAspectRatio: false,
      plugins: {
        legend: { labels: { sort: (a, b) => a.datasetIndex - b.datasetIndex } },
        tooltip: {
          callbacks: {
            title: (items) => `${items[0].label} pushes in the ${windowDays} days before`,
            label: (item) => {
              const b = buckets[item.dataIndex];
              return item.dataset.yAxisID === 'rate'
                ? `${item.raw === null ? '–' : item.raw.toFixed(2)} per 1,000 (${formatInt(b.opt_outs)} opt-outs)`
                : `${formatInt(b.user_days)} user-days at risk`;
            },
          },
        },
      },
      scales: {
        x: plainAxis(`pushes received in the ${windowDays} days before the day`),
        rate: {
          position: 'left',
          beginAtZero: true,
          grid: { color: COLORS.grid },
          title: { display: true, text: 'opt-outs per 1,000 user-days' },
        },
        days: { ...countAxis('user-days at risk'), position: 'right', grid: { display: false } },
      },
    },
  });
}

/** Won back / pending / lost within 1, 7 and 30 days, as stacked horizontal bars. */
export function drawWinback(canvas, windows) {
  const series = [
    ['won_back', 'Won back', COLORS.optIn],
    ['pending', 'Pending', COLORS.pending],
    ['lost', 'Not back', COLORS.optOut],
  ];
  return draw(canvas, {
    type: 'bar',
    data: {
      labels: windows.map((w) => `within ${w.days} day${w.days === 1 ? '' : 's'}`),
      datasets: series.map(([key, label, color]) => ({
        label,
        data: windows.map((w) => w[key]),
        backgroundColor: color,
      })),
    },
    options: {
      indexAxis: 'y',
      maintainAspectRatio: false,
      plugins: {
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${formatInt(item.raw)} opt-outs` } },
      },
      scales: { x: { ...countAxis('opt-outs'), stacked: true }, y: { ...plainAxis(), stacked: true } },
    },
  });
}

/** Opt-outs by number of pushes received in the window before them. */
export function drawPushPressure(canvas, histogram, windowDays) {
  return draw(canvas, {
    type: 'bar',
    data: {
      labels: histogram.map((b) => b.pushes),
      datasets: [{ label: 'Opt-outs', data: histogram.map((b) => b.opt_outs), backgroundColor: COLORS.bar }],
    },
    options: {
      maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: (items) => `${items[0].label} pushes in the ${windowDays} days before`,
            label: (item) => `${formatInt(item.raw)} opt-outs`,
          },
        },
      },
      scales: {
        x: plainAxis(`pushes received in the ${windowDays} days before opting out`),
        y: countAxis('opt-outs'),
      },
    },
  });
}

/** Horizontal bars: opt-outs per campaign. */
export function drawCampaigns(canvas, campaigns, label) {
  return draw(canvas, {
    type: 'bar',
    data: {
      labels: campaigns.map(label),
      datasets: [
        { label: 'Opt-outs', data: campaigns.map((c) => c.opt_outs), backgroundColor: COLORS.optOut },
      ],
    },
    options: {
      indexAxis: 'y',
      maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (item) => `${formatInt(item.raw)} opt-outs` } },
      },
      scales: { x: countAxis('opt-outs'), y: plainAxis() },
    },
  });
}

/** Grouped bars: retain vs churn per event name, in events or users. */
export function drawEvents(canvas, events, unit) {
  return draw(canvas, {
    type: 'bar',
    data: {
      labels: events.map((e) => e.event_name),
      datasets: [
        { label: 'Retain', data: events.map((e) => e.retain), backgroundColor: COLORS.retain },
        { label: 'Churn', data: events.map((e) => e.churn), backgroundColor: COLORS.churn },
      ],
    },
    options: {
      maintainAspectRatio: false,
      plugins: {
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${formatInt(item.raw)} ${unit}` } },
      },
      scales: { x: plainAxis(), y: countAxis(unit) },
    },
  });
}
