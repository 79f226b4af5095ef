// A uPlot chart that follows its container's width. uPlot draws on a canvas and sets sizes through element.style
// (CSSOM, which the CSP allows); its stylesheet is bundled with ours.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
  readonly dash?: number[];
  readonly bars?: boolean;
  readonly width?: number;
  /** Dots at each value: what shows a lone bucket (no neighbours to draw a line to). */
  readonly points?: boolean;
}

const HEIGHT = 260;
const AXIS = { stroke: '#3f4654', grid: { stroke: '#e6e8ec', width: 1 }, ticks: { stroke: '#d3d7de', width: 1 } };

export function Chart({
  times,
  series,
  yLabel,
  format,
  label,
  step,
  log = false,
}: {
  /** Unix seconds. */
  times: readonly number[];
  series: readonly ChartSeries[];
  yLabel: string;
  format: (value: number) => string;
  /** What the chart shows, for those who cannot see it (its data is also in a table beside it). */
  label: string;
  /** Seconds between two points (a bucket): half of it is left free at each end, so no bar is cut. */
  step: number;
  /** A logarithmic y axis: latencies of a millisecond and a budget of seconds on one chart. */
  log?: boolean;
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const bars = uPlot.paths.bars?.({ size: [0.7, 24] });
    // On a log axis, a line and a label per power of ten only.
    const decades = log
      ? (_u: uPlot, splits: number[]) => splits.map((split) => (Number.isInteger(Math.log10(split)) ? split : null))
      : undefined;
    const plot = new uPlot(
      {
        width: Math.max(element.clientWidth, 280),
        height: HEIGHT,
        scales: {
          x: { time: true, range: (_u, min, max) => [min - step / 2, max + step / 2] },
          y: log ? { distr: 3, log: 10 } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          { ...AXIS },
          {
            ...AXIS,
            label: yLabel,
            size: 64,
            ...(decades && {
              filter: decades,
              grid: { ...AXIS.grid, filter: decades },
              ticks: { ...AXIS.ticks, filter: decades },
            }),
            values: (_u, ticks) => ticks.map((tick) => (tick === null ? '' : format(tick))),
          },
        ],
        cursor: { drag: { x: false, y: false } },
        series: [
          {},
          ...series.map((entry) => ({
            label: entry.label,
            stroke: entry.color,
            width: entry.width ?? 2,
            dash: entry.dash,
            fill: entry.bars ? `${entry.color}66` : undefined,
            paths: entry.bars ? bars : undefined,
            points: { show: entry.points ?? false, size: 5, fill: entry.color },
            spanGaps: false,
            value: (_u: uPlot, value: number | null) => (value === null ? '–' : format(value)),
          })),
        ],
      },
      [times as number[], ...series.map((entry) => entry.values as (number | null)[])],
      element,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(element.clientWidth, 280), height: HEIGHT }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, yLabel, format, step, log]);
  return <div class="chart" ref={host} role="img" aria-label={label} />;
}
