import { useEffect, useMemo, useRef, useState } from 'react';
import { axisBottom, axisLeft, scaleLinear, select } from 'd3';
import type { Analysis, Explanation } from '../client/explainerClient';
import { freqScaleFn, renderImage, type SpecData } from './spectrogramRender';
import { useUi } from './store';
import { usePlayback, getPlayer } from './player';

const M = { left: 52, right: 12, top: 8, bottom: 30 };
const HEIGHT = 300;

function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [w, setW] = useState(800);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => setW(Math.max(200, Math.floor(e.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

export function specData(a: Analysis): SpecData {
  return { bins: a.bins, frames: a.frames, hopLength: a.hopLength, sampleRate: a.sampleRate, levels: a.levels };
}

const fmtHz = (f: number) => (f >= 1000 ? `${+(f / 1000).toFixed(1)}k` : `${f}`);

export function Spectrogram({ analysis, explanation }: { analysis: Analysis; explanation?: Explanation }) {
  const [wrapRef, width] = useWidth<HTMLDivElement>();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const axisRef = useRef<SVGSVGElement>(null);
  const view = useUi((s) => s.view);
  const setView = useUi((s) => s.setView);
  const freqScale = useUi((s) => s.freqScale);
  const overlay = useUi((s) => s.overlay);
  const spec = useMemo(() => specData(analysis), [analysis]);
  const dur = analysis.durationS;
  const t0 = view?.t0 ?? 0;
  const t1 = view?.t1 ?? dur;
  const plotW = Math.max(10, width - M.left - M.right);
  const plotH = HEIGHT - M.top - M.bottom;

  // draw the image
  // the float mask of short files, else its 8-bit levels (issue 12)
  const mask = explanation ? (explanation.mask ?? explanation.maskLevels) : undefined;
  useEffect(() => {
    const c = canvasRef.current;
    if (!c) return;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    c.width = Math.round(plotW * dpr);
    c.height = Math.round(plotH * dpr);
    const img = renderImage(spec, {
      width: c.width,
      height: c.height,
      t0,
      t1,
      freqScale,
      overlay,
      mask,
    });
    c.getContext('2d')?.putImageData(img, 0, 0);
    // keyed on the mask array, not the explanation object: the metrics arriving later do not redraw
  }, [spec, mask, t0, t1, freqScale, overlay, plotW, plotH]);

  // axes
  useEffect(() => {
    const svg = axisRef.current;
    if (!svg) return;
    const x = scaleLinear().domain([t0, t1]).range([0, plotW]);
    const y = freqScaleFn(freqScale, analysis.sampleRate, analysis.bins, plotH);
    const s = select(svg);
    s.selectAll('*').remove();
    s.append('g')
      .attr('transform', `translate(${M.left},${M.top + plotH})`)
      .call(axisBottom(x).ticks(Math.max(2, Math.floor(plotW / 80))).tickFormat((d) => `${+d}s`));
    const yAxis = axisLeft(y).tickFormat((d) => fmtHz(+d));
    if (freqScale === 'log') yAxis.tickValues([50, 100, 200, 500, 1000, 2000, 4000, 8000].filter((f) => f <= analysis.sampleRate / 2));
    else yAxis.ticks(6);
    s.append('g').attr('transform', `translate(${M.left},${M.top})`).call(yAxis);
    s.append('text')
      .attr('class', 'axis-label')
      .attr('transform', `translate(12,${M.top + plotH / 2}) rotate(-90)`)
      .attr('text-anchor', 'middle')
      .text('Hz');
  }, [t0, t1, plotW, plotH, freqScale, analysis]);

  // wheel zoom (non-passive so the page does not scroll), drag to pan, click to seek
  useEffect(() => {
    const c = canvasRef.current;
    if (!c) return;
    const timeAt = (clientX: number) => {
      const r = c.getBoundingClientRect();
      return t0 + ((clientX - r.left) / r.width) * (t1 - t0);
    };
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const span = t1 - t0;
      // shift+wheel (or a horizontal trackpad swipe) pans a zoomed view; the vertical wheel zooms
      const dx = e.shiftKey && e.deltaX === 0 ? e.deltaY : e.deltaX;
      if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        if (span >= dur - 1e-6) return;
        const r = c.getBoundingClientRect();
        const a = Math.max(0, Math.min(dur - span, t0 + (dx / r.width) * span));
        setView({ t0: a, t1: a + span });
        return;
      }
      const anchor = timeAt(e.clientX);
      const k = Math.exp(e.deltaY * 0.0015);
      const newSpan = Math.min(dur, Math.max(Math.min(0.1, dur), span * k));
      let a = anchor - ((anchor - t0) / span) * newSpan;
      a = Math.max(0, Math.min(dur - newSpan, a));
      setView(newSpan >= dur - 1e-6 ? null : { t0: a, t1: a + newSpan });
    };
    let drag: { x: number; t0: number; t1: number; moved: boolean } | null = null;
    const onDown = (e: PointerEvent) => {
      drag = { x: e.clientX, t0, t1, moved: false };
      c.setPointerCapture(e.pointerId);
    };
    const onMove = (e: PointerEvent) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (!drag.moved) return;
      const r = c.getBoundingClientRect();
      const span = drag.t1 - drag.t0;
      let a = drag.t0 - (dx / r.width) * span;
      a = Math.max(0, Math.min(dur - span, a));
      if (span < dur) setView({ t0: a, t1: a + span });
    };
    const onUp = (e: PointerEvent) => {
      if (drag && !drag.moved) getPlayer().seek(timeAt(e.clientX));
      drag = null;
    };
    const onDbl = () => setView(null);
    c.addEventListener('wheel', onWheel, { passive: false });
    c.addEventListener('pointerdown', onDown);
    c.addEventListener('pointermove', onMove);
    c.addEventListener('pointerup', onUp);
    c.addEventListener('dblclick', onDbl);
    return () => {
      c.removeEventListener('wheel', onWheel);
      c.removeEventListener('pointerdown', onDown);
      c.removeEventListener('pointermove', onMove);
      c.removeEventListener('pointerup', onUp);
      c.removeEventListener('dblclick', onDbl);
    };
  }, [t0, t1, dur, setView]);

  return (
    <div className="spectrogram" ref={wrapRef} data-testid="spectrogram" data-t0={t0.toFixed(3)} data-t1={t1.toFixed(3)}>
      <div className="spec-stack" style={{ height: HEIGHT }}>
        <canvas
          ref={canvasRef}
          data-testid="spectrogram-canvas"
          style={{ left: M.left, top: M.top, width: plotW, height: plotH }}
          title="Wheel: zoom time · shift+wheel or drag: pan · click: seek · double-click: whole file"
        />
        <svg ref={axisRef} width={width} height={HEIGHT} className="spec-axes" />
        <Playhead left={M.left} top={M.top} width={plotW} height={plotH} t0={t0} t1={t1} />
      </div>
    </div>
  );
}

function Playhead(p: { left: number; top: number; width: number; height: number; t0: number; t1: number }) {
  const time = usePlayback((s) => s.time);
  if (time < p.t0 || time > p.t1) return null;
  const x = p.left + ((time - p.t0) / (p.t1 - p.t0)) * p.width;
  return <div className="playhead" style={{ left: x, top: p.top, height: p.height }} />;
}
