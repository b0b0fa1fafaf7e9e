// Live time-series charts on uPlot (a small library made for them; the dashboard server serves it
// from node_modules): a time axis, the unit on the value axis, and the values under the cursor in
// the legend. A chart keeps a window of the latest samples and can mark a limit (a shard's write
// limit) with a dashed line once the values come near it.
import uPlot from 'uplot';

const MUTED = '#8b98a5';
const GRID = '#2a3440';
const LIMIT = '#f85149';
/** Samples a chart keeps, and its plot's height. */
export const POINTS = 120;
const HEIGHT_PX = 150;
const PALETTE = ['#ff9900', '#3fb950', '#58a6ff', '#d2a8ff', '#f85149', '#39c5cf', '#e3b341', '#db61a2'];

export function format(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (Math.abs(v) >= 10_000_000) return `${(v / 1_000_000).toFixed(0)}M`;
  if (Math.abs(v) >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return v.toFixed(0);
  return v.toFixed(1);
}

/** Bytes in binary units, as Kinesis states its limits (1 MiB/s per shard). */
export function formatBytes(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Units a chart's values are in: the axis label and how one value reads. */
export const UNITS = {
  perSecond: { label: 'per second', value: (v) => `${format(v)}/s` },
  bytesPerSecond: { label: 'bytes per second', value: (v) => `${formatBytes(v)}/s` },
  ms: { label: 'milliseconds', value: (v) => `${format(v)} ms` },
  records: { label: 'records', value: (v) => format(v) },
  bytes: { label: 'bytes', value: (v) => formatBytes(v) },
};

/** Draws `limit` as a dashed line when it is inside the value axis's range. */
function limitLine(limit, label) {
  return {
    hooks: {
      draw: (u) => {
        const { min, max } = u.scales.y;
        if (!(limit >= min && limit <= max)) return;
        const y = Math.round(u.valToPos(limit, 'y', true));
        const { ctx } = u;
        const { left, width } = u.bbox;
        ctx.save();
        ctx.strokeStyle = LIMIT;
        ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
        ctx.lineWidth = devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(left + width, y);
        ctx.stroke();
        ctx.fillStyle = LIMIT;
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        ctx.textAlign = 'right';
        ctx.fillText(label, left + width - 4 * devicePixelRatio, y - 4 * devicePixelRatio);
        ctx.restore();
      },
    },
  };
}

export class TimeChart {
  /**
   * `series`: [{ name }]; `unit`: a key of UNITS; `limit`: { value, label } drawn as a line;
   * `windowSeconds`: the time axis's span, ending at the latest sample (by default the samples
   * kept, one a second); `dots`: mark every sample (for sparse ones, such as CloudWatch's minutes).
   */
  constructor(container, { title, series, unit = 'records', windowSeconds = POINTS, limit, dots = false }) {
    this.unit = UNITS[unit];
    container.classList.add('chart');
    container.replaceChildren();
    const heading = document.createElement('h3');
    heading.textContent = title;
    const plot = document.createElement('div');
    container.append(heading, plot);
    this.data = [[], ...series.map(() => [])];
    // The plot fills the card (less its padding) and follows it when the layout changes.
    const size = () => ({ width: Math.max(200, container.clientWidth - 24), height: HEIGHT_PX });
    const value = (u, v) => (v === null || v === undefined ? '–' : this.unit.value(v));
    this.plot = new uPlot(
      {
        ...size(),
        series: [
          { label: 'time', value: (u, t) => (t === null ? '–' : new Date(t * 1000).toLocaleTimeString()) },
          ...series.map((s, i) => ({ label: s.name, stroke: PALETTE[i % PALETTE.length], width: 1.5, value, spanGaps: true, ...(dots && { points: { show: true, size: 6 } }) })),
        ],
        axes: [
          { stroke: MUTED, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } },
          {
            stroke: MUTED,
            label: this.unit.label,
            labelSize: 18,
            labelFont: '11px system-ui, sans-serif',
            // Wide enough for the longest tick label (bytes/s labels are long).
            size: (u, values) => 30 + 6.5 * Math.max(3, ...(values ?? []).map((v) => v.length)),
            grid: { stroke: GRID, width: 1 },
            ticks: { stroke: GRID, width: 1 },
            values: (u, splits) => splits.map((v) => this.unit.value(v)),
          },
        ],
        scales: {
          // A steady span from the first sample on, so the axis does not zoom into the first seconds.
          x: { time: true, range: (u, min, max) => (max === null ? [Date.now() / 1000 - windowSeconds, Date.now() / 1000] : [max - windowSeconds, max]) },
          y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] },
        },
        legend: { live: true },
        // Away from the cursor, the legend shows the latest values.
        hooks: { setCursor: [(u) => u.cursor.idx === null && this.#showLatest()] },
        plugins: limit ? [limitLine(limit.value, limit.label)] : [],
      },
      this.data,
      plot,
    );
    this.plot.root.setAttribute('aria-label', title);
    this.resize = new ResizeObserver(() => this.plot.setSize(size()));
    this.resize.observe(container);
  }

  #showLatest() {
    if (this.plot && this.data[0].length) this.plot.setLegend({ idx: this.data[0].length - 1 });
  }

  /** One sample per series (in the order given to the constructor) at `time` (epoch ms). */
  push(time, ...values) {
    this.data[0].push(time / 1000);
    this.data.slice(1).forEach((column, i) => column.push(values[i] ?? null));
    for (const column of this.data) if (column.length > POINTS) column.shift();
    this.#update();
  }

  #update() {
    this.plot.setData(this.data);
    if (this.plot.cursor.idx === null || this.plot.cursor.idx === undefined) this.#showLatest();
  }

  /** Replace every sample: `times` (epoch ms) and one array of values per series. */
  set(times, columns) {
    this.data = [times.map((t) => t / 1000), ...columns];
    this.#update();
  }

  destroy() {
    this.resize.disconnect();
    this.plot.destroy();
  }
}
