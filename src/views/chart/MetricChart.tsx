// The metric chart: a Vega-Lite spec from the API drawn with vega-embed (its only user).
import React, { useEffect, useRef, useState } from 'react';

import { VegaLiteSpec } from '../../api';
import { SeedBand, seedRows } from '../../models/seeds';
import { seedsSpec } from './bands';
import { XAxis, curvesSpec, hasWallTime, readPoints } from './spec';

export interface IMetricChartProps {
  /** The Vega-Lite spec (`GET runs/{id}/chart`, or `chart` of `GET compare`). */
  spec: VegaLiteSpec | null;
  /** Width of one metric's panel (px); fewer panels per row when the view is narrow. */
  panelWidth?: number;
  panelHeight?: number;
  /** Show vega-embed's export menu (PNG/SVG). */
  actions?: boolean;
  /** Show the options (x axis, smoothing, log scale); compact views leave them out. */
  controls?: boolean;
  /** Run ids in the order their line colours are given (the compare view's chips). */
  runOrder?: readonly string[];
  /** Runs that differ only in their seed: run id to group label (models/seeds). With
   * it, the toolbar offers each group's mean with a band instead of every run. */
  seedGroups?: ReadonlyMap<string, string> | null;
}

/** How a chart is drawn: the toolbar's choices. */
interface IDrawOptions {
  x: XAxis;
  smoothing: number;
  logY: boolean;
  /** Each run's curve, or each seed group's mean with a band. */
  seeds: 'runs' | SeedBand;
}

/**
 * Draws `spec` with vega-embed (loaded on first use, so the sidebar does not wait for
 * Vega), themed from JupyterLab's CSS variables, redrawn when the theme or width changes.
 */
export function MetricChart(props: IMetricChartProps): JSX.Element {
  const {
    spec,
    panelWidth = 260,
    panelHeight = 150,
    actions = false,
    controls = false
  } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [options, setOptions] = useState<IDrawOptions>({
    x: 'step',
    smoothing: 0,
    logY: false,
    seeds: 'runs'
  });
  const order = (props.runOrder ?? []).join('\n');
  const groups = props.seedGroups ? [...props.seedGroups] : [];
  const groupsKey = JSON.stringify(groups);
  const [theme, setTheme] = useState(themeKey());
  const [width, setWidth] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const text = spec ? JSON.stringify(spec) : '';

  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(themeKey()));
    observer.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name']
    });
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(entries => {
      // Quantized so that dragging a panel edge does not redraw on every pixel.
      const w = Math.floor(entries[0].contentRect.width / 40) * 40;
      setWidth(w);
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const node = ref.current;
    if (!node || !text || width <= 0) {
      return;
    }
    let cancelled = false;
    let finalize: (() => void) | null = null;
    // Keep the old drawing's height while the new one is made: no jump on live updates.
    node.style.minHeight = `${node.offsetHeight}px`;
    void import('vega-embed')
      .then(async ({ default: embed }) => {
        if (cancelled) {
          return;
        }
        const adapted = drawSpec(
          JSON.parse(text) as VegaLiteSpec,
          options,
          order ? order.split('\n') : [],
          width,
          panelWidth,
          panelHeight,
          new Map(JSON.parse(groupsKey) as [string, string][])
        );
        const result = await embed(node, adapted as never, {
          actions: actions
            ? { export: true, source: false, compiled: false, editor: false }
            : false,
          renderer: 'svg',
          config: themeConfig() as never,
          tooltip: { theme: theme.startsWith('dark') ? 'dark' : 'light' }
        });
        if (cancelled) {
          result.finalize();
        } else {
          finalize = () => result.finalize();
          setError(null);
        }
        node.style.minHeight = '';
      })
      .catch((reason: unknown) => {
        if (!cancelled) {
          setError(String(reason));
          node.style.minHeight = '';
        }
      });
    return () => {
      cancelled = true;
      finalize?.();
    };
  }, [
    text,
    theme,
    width,
    panelWidth,
    panelHeight,
    actions,
    options,
    order,
    groupsKey
  ]);

  const points = controls && spec ? readPoints(spec) : null;
  return (
    <div className="trackrun-MetricChart">
      {points && (
        <ChartToolbar
          options={options}
          timeAxes={hasWallTime(points)}
          seeds={groups.length > 0}
          onChange={setOptions}
        />
      )}
      <div className="trackrun-MetricChart-canvas" ref={ref} />
      {error && (
        <div className="trackrun-error-text">chart not drawn: {error}</div>
      )}
    </div>
  );
}

/** The chart's options: x axis, smoothing (with its weight) and log scale. */
function ChartToolbar(props: {
  options: IDrawOptions;
  timeAxes: boolean;
  /** Whether runs form seed groups (the seeds choice is offered). */
  seeds: boolean;
  onChange: (options: IDrawOptions) => void;
}): JSX.Element {
  const { options, onChange } = props;
  const byGroup = props.seeds && options.seeds !== 'runs';
  const noTime = props.timeAxes
    ? byGroup
      ? 'Seed groups are averaged at each step'
      : undefined
    : 'The chart data has no wall times (an older trackrun server)';
  return (
    <div className="trackrun-MetricChart-toolbar">
      {props.seeds && (
        <label title="Runs that differ only in their seed: each run, or each group's mean with a band">
          show{' '}
          <select
            className="jp-mod-styled trackrun-MetricChart-seeds"
            value={options.seeds}
            onChange={e =>
              onChange({
                ...options,
                seeds: e.target.value as IDrawOptions['seeds']
              })
            }
          >
            <option value="runs">each run</option>
            <option value="sd">seeds: mean ± sd</option>
            <option value="ci">seeds: mean, 95 % CI</option>
          </select>
        </label>
      )}
      <label title="What the x axis shows">
        x{' '}
        <select
          className="jp-mod-styled trackrun-MetricChart-x"
          value={options.x}
          onChange={e => onChange({ ...options, x: e.target.value as XAxis })}
        >
          <option value="step">step</option>
          <option
            value="relative"
            disabled={!props.timeAxes || byGroup}
            title={noTime}
          >
            relative time
          </option>
          <option
            value="wall"
            disabled={!props.timeAxes || byGroup}
            title={noTime}
          >
            wall time
          </option>
        </select>
      </label>
      <label
        className="trackrun-MetricChart-smoothing"
        title="Exponential moving average, as TensorBoard's; the raw curve stays faint"
      >
        smoothing{' '}
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={options.smoothing}
          disabled={byGroup}
          aria-label="smoothing"
          onChange={e =>
            onChange({ ...options, smoothing: Number(e.target.value) })
          }
        />
        <span className="trackrun-MetricChart-smoothingValue">
          {options.smoothing.toFixed(2)}
        </span>
      </label>
      <label title="Logarithmic y axis (zero and negative values are left out)">
        <input
          type="checkbox"
          className="trackrun-MetricChart-logY"
          checked={options.logY}
          onChange={e => onChange({ ...options, logY: e.target.checked })}
        />{' '}
        log y
      </label>
      <span className="trackrun-muted trackrun-MetricChart-hint">
        drag to pan, wheel to zoom, double-click to reset
      </span>
    </div>
  );
}

/**
 * What vega-embed draws: metric curves rebuilt from the server's data with the chart's
 * options, sized to the view; a spec without curves (a message) as the server made it.
 */
function drawSpec(
  spec: VegaLiteSpec,
  options: IDrawOptions,
  runOrder: string[],
  width: number,
  panelWidth: number,
  panelHeight: number,
  seedGroups: ReadonlyMap<string, string>
): VegaLiteSpec {
  const points = readPoints(spec);
  if (!points) {
    return fitSpec(spec, width, panelWidth, panelHeight);
  }
  const gutter = 70; // axis labels and padding around one panel
  const keys = new Set(points.map(p => p.key)).size;
  const columns = Math.max(
    1,
    Math.min(2, keys, Math.floor(width / (Math.min(panelWidth, 200) + gutter)))
  );
  const panel =
    keys === 1
      ? Math.max(140, Math.min(panelWidth * 2, width - gutter))
      : Math.max(
          140,
          Math.min(panelWidth, Math.floor(width / columns) - gutter)
        );
  if (options.seeds !== 'runs' && seedGroups.size) {
    return seedsSpec(
      seedRows(points, seedGroups, options.seeds),
      {
        band: options.seeds,
        width: panel,
        height: panelHeight,
        columns,
        logY: options.logY
      },
      spec.title
    );
  }
  return curvesSpec(
    points,
    {
      ...options,
      width: panel,
      height: panelHeight,
      columns,
      runOrder
    },
    spec.title
  );
}

/** Changes when the theme does: light/dark plus the theme's name. */
function themeKey(): string {
  const light = document.body.dataset.jpThemeLight !== 'false';
  return `${light ? 'light' : 'dark'}:${document.body.dataset.jpThemeName ?? ''}`;
}

/** Vega config from the theme's CSS variables, so charts match light and dark themes. */
function themeConfig(): Record<string, unknown> {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string): string =>
    css.getPropertyValue(name).trim() || fallback;
  const fg = v('--jp-ui-font-color1', '#333');
  const fg2 = v('--jp-ui-font-color2', '#666');
  const grid = v('--jp-border-color2', '#ddd');
  const line = v('--jp-border-color1', '#aaa');
  const font = v('--jp-ui-font-family', 'sans-serif');
  return {
    background: 'transparent',
    font,
    axis: {
      labelColor: fg2,
      titleColor: fg,
      gridColor: grid,
      domainColor: line,
      tickColor: line
    },
    legend: { labelColor: fg2, titleColor: fg, labelLimit: 220 },
    header: { labelColor: fg, titleColor: fg, labelFontSize: 12 },
    title: { color: fg, subtitleColor: fg2 },
    view: { stroke: grid },
    text: { color: fg2 }
  };
}

/**
 * The server's spec with panels sized to the view: a faceted chart gets as many columns
 * as fit in `width` (at most its own), each panel at most `panelWidth` wide.
 */
function fitSpec(
  spec: VegaLiteSpec,
  width: number,
  panelWidth: number,
  panelHeight: number
): VegaLiteSpec {
  const out: Record<string, unknown> = { ...spec };
  const inner = out.spec as Record<string, unknown> | undefined;
  const gutter = 70; // axis labels and padding around one panel
  if (inner && typeof inner === 'object' && 'facet' in out) {
    const wanted = typeof out.columns === 'number' ? out.columns : 2;
    const columns = Math.max(
      1,
      Math.min(wanted, Math.floor(width / (Math.min(panelWidth, 200) + gutter)))
    );
    const w = Math.max(
      140,
      Math.min(panelWidth, Math.floor(width / columns) - gutter)
    );
    out.columns = columns;
    out.spec = { ...inner, width: w, height: panelHeight };
  } else if (!('facet' in out)) {
    out.width = Math.max(140, Math.min(panelWidth * 2, width - gutter));
    out.height = panelHeight;
  }
  return out;
}
