import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';

export interface Series {
  label: string;
  color: string;
}

/**
 * A uPlot time chart. `x` is seconds since the epoch; each series one value per x.
 * Rebuilt when the series change, otherwise only its data is replaced.
 */
export function Chart({ x, series, values, bars = false, padX = 0, height = 220, testId }: { x: number[]; series: Series[]; values: (number | null)[][]; bars?: boolean; padX?: number; height?: number; testId?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('|') + (bars ? '|bars' : '');

  useEffect(() => {
    const element = host.current;
    if (element === null) return;
    const options: Options = {
      width: Math.max(320, element.clientWidth),
      height,
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: bars ? s.color : undefined,
          width: bars ? 0 : 2,
          ...(bars ? { paths: uPlot.paths.bars!({ size: [0.6, 40] }) } : {}),
        })),
      ],
      // With padX the x range is set from the data (see widen): a single day's bar would otherwise span years of axis.
      scales: padX > 0 ? { x: { time: true, auto: false } } : {},
      axes: [{ stroke: '#8a94a6' }, { stroke: '#8a94a6' }],
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(options, [x, ...values] as AlignedData, element);
    widen(plot.current, x, padX);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(320, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    if (plot.current === null) return;
    plot.current.setData([x, ...values] as AlignedData);
    widen(plot.current, x, padX);
  }, [x, values, padX]);

  return <div class="chart" ref={host} data-testid={testId} />;
}

function widen(plot: uPlot, x: number[], padX: number): void {
  if (padX > 0 && x.length > 0) plot.setScale('x', { min: x[0]! - padX, max: x[x.length - 1]! + padX });
}

/** Horizontal bars for counts by category (outcome, action, upstream): plain HTML, no canvas. */
export function Bars({ rows, testId }: { rows: Array<{ label: string; value: number; tone?: string }>; testId?: string }) {
  const max = Math.max(1, ...rows.map((row) => row.value));
  return (
    <div class="bars" data-testid={testId}>
      {rows.map((row) => (
        <div class="bar-row" key={row.label} data-label={row.label}>
          <span class="bar-label">{row.label}</span>
          <span class="bar-track">
            <span class={`bar-fill ${row.tone ?? ''}`} style={{ width: `${(row.value / max) * 100}%` }} />
          </span>
          <span class="bar-value" data-testid={testId === undefined ? undefined : `${testId}-${row.label}`}>
            {row.value.toLocaleString('en-US')}
          </span>
        </div>
      ))}
    </div>
  );
}
