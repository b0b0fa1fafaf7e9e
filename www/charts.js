// A small live line chart in SVG: a fixed window of the latest samples per series, scaled to the
// largest value in view, with a legend showing each series' latest value. No dependencies.
const SVG = 'http://www.w3.org/2000/svg';

export class LineChart {
  /** `series`: [{ name, color }]; `points`: samples kept; `unit` shown after values. */
  constructor(container, { title, series, points = 60, unit = '' }) {
    this.series = series.map((s) => ({ ...s, values: [] }));
    this.points = points;
    this.unit = unit;
    container.classList.add('chart');
    const heading = document.createElement('h3');
    heading.textContent = title;
    this.legend = document.createElement('div');
    this.legend.className = 'legend';
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.setAttribute('viewBox', '0 0 300 100');
    this.svg.setAttribute('preserveAspectRatio', 'none');
    this.svg.setAttribute('role', 'img');
    this.svg.setAttribute('aria-label', title);
    this.max = document.createElementNS(SVG, 'text');
    this.max.setAttribute('x', '2');
    this.max.setAttribute('y', '9');
    this.max.setAttribute('class', 'axis');
    this.svg.append(this.max);
    for (const s of this.series) {
      s.line = document.createElementNS(SVG, 'polyline');
      s.line.setAttribute('fill', 'none');
      s.line.setAttribute('stroke', s.color);
      s.line.setAttribute('stroke-width', '1.5');
      s.line.setAttribute('vector-effect', 'non-scaling-stroke');
      this.svg.append(s.line);
      s.label = document.createElement('span');
      s.label.style.setProperty('--swatch', s.color);
      this.legend.append(s.label);
    }
    container.append(heading, this.svg, this.legend);
  }

  /** Add one sample per series (in the order given to the constructor). */
  push(...values) {
    this.series.forEach((s, i) => {
      s.values.push(values[i] ?? 0);
      if (s.values.length > this.points) s.values.shift();
    });
    const top = Math.max(1, ...this.series.flatMap((s) => s.values));
    const step = 300 / (this.points - 1);
    for (const s of this.series) {
      const offset = this.points - s.values.length;
      s.line.setAttribute('points', s.values.map((v, i) => `${((offset + i) * step).toFixed(1)},${(100 - (v / top) * 92).toFixed(1)}`).join(' '));
      s.label.textContent = `${s.name} ${format(s.values.at(-1))}${this.unit}`;
    }
    this.max.textContent = `${format(top)}${this.unit}`;
  }
}

export function format(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (Math.abs(v) >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return v.toFixed(0);
  return v.toFixed(1);
}
