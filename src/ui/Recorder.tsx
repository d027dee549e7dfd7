/**
 * Record from the microphone (issue 12): the recording joins the file list when stopped (and is
 * analysed and explained like a dropped file); in live mode the last window (5 s for the default
 * model) is classified and its mask drawn continuously while recording. No audio leaves the page.
 */
import { useEffect, useRef, useState } from 'react';
import type { BundleInfo, LiveResult } from '../client/explainerClient';
import { encodeWav } from '../core/wav';
import { formatTime, prettyLabel, topK } from './format';
import { MicRecorder, micErrorMessage, resampleTo } from './recorder';
import { magnitudeLevels, renderImage } from './spectrogramRender';

interface LiveView {
  result: LiveResult;
  updates: number;
  /** Updates per second over the last few updates. */
  rate: number;
}

function recordingName(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `recording-${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.wav`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Live windows start at most this often (ms): leaves the cores some room on slow machines. */
const MIN_LIVE_PERIOD_MS = 200;

export function Recorder(props: {
  bundle: BundleInfo | null;
  onRecording: (f: File) => void;
  live: (samples: Float32Array, target: number | null, signal?: AbortSignal) => Promise<LiveResult>;
}) {
  const rec = useRef<MicRecorder | null>(null);
  const [state, setState] = useState<'idle' | 'starting' | 'recording' | 'stopping'>('idle');
  const [error, setError] = useState<string | null>(null);
  const [time, setTime] = useState(0);
  const [liveOn, setLiveOn] = useState(true);
  const [view, setView] = useState<LiveView | null>(null);
  const [liveError, setLiveError] = useState<string | null>(null);
  const liveRef = useRef(liveOn);
  liveRef.current = liveOn;
  const bundleRef = useRef(props.bundle);
  bundleRef.current = props.bundle;
  const liveFn = useRef(props.live);
  liveFn.current = props.live;
  const loopAc = useRef<AbortController | null>(null);
  const onRecording = useRef(props.onRecording);
  onRecording.current = props.onRecording;

  useEffect(() => () => {
    loopAc.current?.abort();
    void rec.current?.stop();
  }, []);

  /** Classify the last window and draw its mask, again and again while recording. */
  const liveLoop = async (r: MicRecorder, signal: AbortSignal) => {
    const stamps: number[] = [];
    let updates = 0;
    while (!signal.aborted && r.recording) {
      const b = bundleRef.current;
      const started = performance.now();
      if (!liveRef.current || !b || r.durationS < 0.5) {
        await sleep(100);
        continue;
      }
      try {
        const need = Math.ceil((b.windowSamples * r.sampleRate) / b.sampleRate);
        const x = await resampleTo(r.latest(need), r.sampleRate, b.sampleRate);
        const res = await liveFn.current(x, null, signal);
        if (signal.aborted) break;
        updates++;
        stamps.push(performance.now());
        if (stamps.length > 8) stamps.shift();
        const rate = stamps.length > 1 ? ((stamps.length - 1) * 1000) / (stamps[stamps.length - 1] - stamps[0]) : 0;
        setView({ result: res, updates, rate });
        setLiveError(null);
      } catch (e) {
        if (signal.aborted) break;
        setLiveError(`Live explanation failed: ${e instanceof Error ? e.message : String(e)}`);
        await sleep(1000);
      }
      const wait = MIN_LIVE_PERIOD_MS - (performance.now() - started);
      if (wait > 0) await sleep(wait);
    }
  };

  const start = async () => {
    setError(null);
    setLiveError(null);
    setView(null);
    setState('starting');
    const r = new MicRecorder();
    try {
      await r.start(props.bundle?.sampleRate);
    } catch (e) {
      setError(micErrorMessage(e).message);
      setState('idle');
      return;
    }
    rec.current = r;
    let last = 0;
    r.onData = () => {
      const t = Math.floor(r.durationS * 4) / 4;
      if (t !== last) setTime((last = t));
    };
    r.onEnded = (why) => {
      setError(`Recording stopped: ${why}.`);
      void stop();
    };
    setTime(0);
    setState('recording');
    const ac = new AbortController();
    loopAc.current = ac;
    void liveLoop(r, ac.signal);
  };

  const stop = async () => {
    const r = rec.current;
    if (!r) return;
    rec.current = null;
    loopAc.current?.abort();
    loopAc.current = null;
    setState('stopping');
    const { samples, sampleRate } = await r.stop();
    setState('idle');
    if (samples.length < sampleRate * 0.1) {
      setError('The recording is empty (nothing was captured).');
      return;
    }
    const wav = encodeWav(samples, sampleRate, 'pcm16');
    onRecording.current(new File([wav], recordingName(), { type: 'audio/wav' }));
  };

  const recording = state === 'recording';
  return (
    <div className="recorder" data-testid="recorder" data-state={state}>
      <div className="recorder-row">
        <button
          className={`record ${recording ? 'on' : ''}`}
          data-testid="record"
          disabled={state === 'starting' || state === 'stopping'}
          onClick={() => void (recording ? stop() : start())}
          aria-pressed={recording}
          title={recording ? 'Stop and add the recording to the files' : 'Record from the microphone (stays in this page)'}
        >
          {recording ? '■ Stop' : state === 'starting' ? 'Starting…' : '● Record'}
        </button>
        {recording && (
          <span className="rec-time" data-testid="rec-time">
            {formatTime(time)}
          </span>
        )}
        <label className="switch small" title="Explain the last window continuously while recording">
          <input type="checkbox" checked={liveOn} onChange={(e) => setLiveOn(e.target.checked)} data-testid="live-toggle" />
          Live
        </label>
      </div>
      {error && (
        <p className="error small" role="alert" data-testid="mic-error">
          {error}
        </p>
      )}
      {recording && liveOn && <LivePanel view={view} bundle={props.bundle} error={liveError} />}
    </div>
  );
}

function LivePanel({ view, bundle, error }: { view: LiveView | null; bundle: BundleInfo | null; error: string | null }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const r = view?.result;
  const labels = bundle?.labels ?? [];
  useEffect(() => {
    const c = canvas.current;
    if (!c || !r || !bundle) return;
    const img = renderImage(
      { bins: r.bins, frames: r.frames, hopLength: bundle.hopLength, sampleRate: bundle.sampleRate, levels: magnitudeLevels(r.magnitude) },
      { width: c.width, height: c.height, t0: 0, t1: ((r.frames - 1) * bundle.hopLength) / bundle.sampleRate, freqScale: 'linear', overlay: 'dim', mask: r.mask },
    );
    c.getContext('2d')?.putImageData(img, 0, 0);
  }, [r, bundle]);
  const top = r ? topK(r.probs, 3) : [];
  const windowS = bundle ? bundle.windowSamples / bundle.sampleRate : 5;
  return (
    <div
      className="live-panel"
      data-testid="live-panel"
      data-updates={view?.updates ?? 0}
      data-rate={view ? view.rate.toFixed(2) : ''}
      data-target={r?.target ?? ''}
      data-label={r ? prettyLabel(labels[r.target] ?? '') : ''}
      data-mask-mean={r?.maskMean ?? ''}
    >
      <div className="muted small">
        Live: the last {windowS} s{r?.mask ? `, mask of “${prettyLabel(labels[r.target] ?? '')}”` : ''}
      </div>
      <canvas ref={canvas} width={256} height={96} className="live-spec" data-testid="live-spec" />
      <ul className="live-classes">
        {top.map((k) => (
          <li key={k} data-testid="live-class">
            <span className="label">{prettyLabel(labels[k] ?? `class ${k}`)}</span>
            <span className="bar">
              <span style={{ width: `${Math.max(0.5, r!.probs[k] * 100)}%` }} />
            </span>
            <span className="prob">{(r!.probs[k] * 100).toFixed(1)}%</span>
          </li>
        ))}
      </ul>
      <div className="muted small" data-testid="live-stats">
        {view ? `${view.rate.toFixed(1)} updates/s · last ${Math.round(r!.timings.roundTrip ?? r!.timings.total)} ms` : 'waiting for audio…'}
      </div>
      {error && <p className="error small">{error}</p>}
    </div>
  );
}
