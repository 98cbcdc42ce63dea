// A live line chart drawn as SVG by hand (smaller than any charting library):
// a fixed window of samples per series, the y axis scaled to a round maximum,
// one polyline per series and a legend with the latest values.  The plot
// stretches to its box; axis labels are HTML so they never stretch with it.
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 160;
const PAD = 4; // room for the line's width at the top and bottom

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
}

/** The smallest of 1, 2, 5 × 10^n that is at least `value` (10 for nothing yet). */
export function roundMaximum(value) {
  if (!(value > 0)) return 10;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value);
}

export function formatRate(value) {
  if (value >= 10_000) return `${(value / 1000).toFixed(0)}k`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
  return value >= 10 || value === 0 ? value.toFixed(0) : value.toFixed(1);
}

export class LineChart {
  /**
   * @param {{title: string, series: {key: string, label: string}[], samples?: number, unit?: string}} options
   */
  constructor({ title, series, samples = 60, unit = "/s" }) {
    this.title = title;
    this.unit = unit;
    this.samples = samples;
    this.series = series.map((s, i) => ({ ...s, index: i, values: [] }));
    this.el = h("figure", { class: "chart", dataset: { chart: title } });
    this.svg = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", preserveAspectRatio: "none" });
    this.description = svg("title");
    this.svg.append(this.description);
    this.grid = svg("g", { class: "chart-grid" });
    for (const fraction of [0, 0.5, 1]) this.grid.append(svg("line", { x1: 0, x2: WIDTH, y1: this.y(fraction), y2: this.y(fraction) }));
    this.svg.append(this.grid);
    for (const s of this.series) {
      s.line = svg("polyline", { class: `chart-line series-${s.index}`, fill: "none", points: "", "data-series": s.key });
      this.svg.append(s.line);
    }
    this.yLabels = [0, 0.5, 1].map(() => h("span", { class: "chart-y-label" }));
    this.legend = h("figcaption", { class: "chart-legend" });
    this.el.append(
      h("div", { class: "chart-title" }, title),
      h("div", { class: "chart-plot" }, h("div", { class: "chart-y", "aria-hidden": "true" }, [...this.yLabels].reverse()), this.svg),
      h("div", { class: "chart-x", "aria-hidden": "true" }, h("span", {}, `${samples} s ago`), h("span", {}, "now")),
      this.legend,
    );
    this.render();
  }

  /** Vertical position of a fraction of the maximum. */
  y(fraction) {
    return PAD + (HEIGHT - 2 * PAD) * (1 - fraction);
  }

  /** Add one sample: `{seriesKey: value}`. */
  push(values) {
    for (const s of this.series) {
      s.values.push(Number(values[s.key]) || 0);
      if (s.values.length > this.samples) s.values.shift();
    }
    this.render();
  }

  render() {
    const max = roundMaximum(Math.max(0, ...this.series.flatMap((s) => s.values)));
    const x = (i, n) => (WIDTH * (this.samples - n + i)) / (this.samples - 1);
    this.yLabels.forEach((label, i) => (label.textContent = formatRate((max * i) / 2)));
    for (const s of this.series) {
      const n = s.values.length;
      s.line.setAttribute("points", s.values.map((v, i) => `${x(i, n).toFixed(1)},${this.y(v / max).toFixed(1)}`).join(" "));
      s.latest = n ? s.values[n - 1] : 0;
      this.el.dataset[`latest${s.key[0].toUpperCase()}${s.key.slice(1)}`] = String(s.latest);
    }
    const now = this.series.map((s) => `${formatRate(s.latest)} ${s.label}${this.unit}`).join(", ");
    this.description.textContent = `${this.title}, last ${this.samples} seconds; now ${now}`;
    this.legend.replaceChildren(
      ...this.series.map((s) =>
        h("span", { class: "legend-item" }, h("span", { class: `legend-swatch series-${s.index}`, "aria-hidden": "true" }), `${s.label} `, h("strong", { class: "legend-value", dataset: { series: s.key } }, formatRate(s.latest)), this.unit),
      ),
    );
  }
}
