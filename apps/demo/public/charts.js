// Small live charts in inline SVG, no library: a time-series chart (lines over the last minute,
// optional shaded bands, linear or logarithmic scale) and a strip of one square per worker.

const svgNamespace = 'http://www.w3.org/2000/svg';
const width = 320;
const height = 90;
const margin = { left: 34, right: 6, top: 6, bottom: 14 };

function svgElement(name, attributes = {}, text) {
  const element = document.createElementNS(svgNamespace, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

function formatValue(value, unit) {
  const digits = value >= 100 || Number.isInteger(value) ? 0 : value >= 10 ? 1 : 2;
  return value.toFixed(digits) + (unit ?? '');
}

/**
 * A chart of series over a sliding time window (the last `windowMs`, or since the first sample
 * when that is more recent, but at least `minWindowMs`), drawn into `svg` on every `draw()`.
 * `series`: [{ name, className }]; `add(time, values)` appends one sample (values by series
 * name; a missing or non-finite value leaves a gap); `band(from, to)` shades a time span
 * (`to` undefined: still open). Times are `performance.now()` milliseconds.
 */
export class TimeChart {
  #svg;
  #series;
  #windowMs;
  #minWindowMs;
  #isLog;
  #unit;
  #samples = [];
  #bands = [];

  constructor(svg, { series, windowMs = 60_000, minWindowMs = 10_000, isLog = false, unit = '' }) {
    this.#svg = svg;
    this.#series = series;
    this.#windowMs = windowMs;
    this.#minWindowMs = minWindowMs;
    this.#isLog = isLog;
    this.#unit = unit;
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('preserveAspectRatio', 'none');
  }

  /** The samples in the window, oldest first: { time, values }. */
  get samples() {
    return this.#samples;
  }

  add(time, values) {
    this.#samples.push({ time, values });
    this.#forget(time);
  }

  /** Opens a shaded span at `from`; returns a function that closes it at the time it is given. */
  band(from) {
    const band = { from, to: undefined };
    this.#bands.push(band);
    return (to) => (band.to = to);
  }

  #forget(now) {
    const oldest = now - this.#windowMs;
    while (this.#samples.length > 0 && this.#samples[0].time < oldest) this.#samples.shift();
    this.#bands = this.#bands.filter((band) => band.to === undefined || band.to >= oldest);
  }

  draw(now = performance.now()) {
    this.#forget(now);
    const plotWidth = width - margin.left - margin.right;
    const plotHeight = height - margin.top - margin.bottom;
    const first = this.#samples[0]?.time ?? now;
    const spanMs = Math.min(this.#windowMs, Math.max(this.#minWindowMs, now - first));
    const start = now - spanMs;
    const x = (time) => margin.left + ((time - start) / spanMs) * plotWidth;

    let max = 0;
    for (const sample of this.#samples) {
      for (const { name } of this.#series) {
        const value = sample.values[name];
        if (Number.isFinite(value)) max = Math.max(max, value);
      }
    }
    const floor = this.#isLog ? 0.1 : 0;
    const top = this.#isLog ? 10 ** Math.ceil(Math.log10(Math.max(max, 1))) : Math.max(1, niceCeiling(max));
    const scale = (value) =>
      this.#isLog
        ? (Math.log10(Math.max(value, floor)) - Math.log10(floor)) / (Math.log10(top) - Math.log10(floor))
        : value / top;
    const y = (value) => margin.top + plotHeight * (1 - scale(value));

    const children = [
      svgElement('rect', { class: 'plot', x: margin.left, y: margin.top, width: plotWidth, height: plotHeight }),
    ];
    for (const band of this.#bands) {
      const from = Math.max(x(band.from), margin.left);
      const to = Math.min(x(band.to ?? now), width - margin.right);
      if (to > from) {
        children.push(
          svgElement('rect', { class: 'band', x: from, y: margin.top, width: to - from, height: plotHeight }),
        );
      }
    }
    children.push(
      svgElement('text', { class: 'axis', x: margin.left - 3, y: margin.top + 8 }, formatValue(top, this.#unit)),
      svgElement(
        'text',
        { class: 'axis', x: margin.left - 3, y: height - margin.bottom },
        formatValue(floor, this.#unit),
      ),
      svgElement('text', { class: 'axis time', x: width - margin.right, y: height - 2 }, 'now'),
      svgElement('text', { class: 'axis time', x: margin.left + 18, y: height - 2 }, `-${Math.round(spanMs / 1000)} s`),
    );
    for (const { name, className } of this.#series) {
      // One polyline per unbroken run of values.
      let points = [];
      const flush = () => {
        if (points.length > 0) {
          children.push(svgElement('polyline', { class: `line ${className}`, points: points.join(' ') }));
          if (points.length === 1) {
            const [cx, cy] = points[0].split(',');
            children.push(svgElement('circle', { class: `dot ${className}`, cx, cy, r: 1.5 }));
          }
        }
        points = [];
      };
      for (const sample of this.#samples) {
        const value = sample.values[name];
        if (Number.isFinite(value)) points.push(`${x(sample.time).toFixed(1)},${y(value).toFixed(1)}`);
        else flush();
      }
      flush();
    }
    this.#svg.replaceChildren(...children);
  }
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling(value) {
  if (value <= 0) return 0;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/** One square per worker of the pool: busy, idle, still starting. */
export function drawWorkers(container, { busy = 0, idle = 0, starting = 0 }) {
  const squares = [];
  const add = (count, state) => {
    for (let index = 0; index < count; index++) {
      const square = document.createElement('span');
      square.className = `worker ${state}`;
      square.title = state;
      squares.push(square);
    }
  };
  add(busy, 'busy');
  add(idle, 'idle');
  add(starting, 'starting');
  container.replaceChildren(...squares);
}
