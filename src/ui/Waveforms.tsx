import { useEffect, useRef } from 'react';
import WaveSurfer from 'wavesurfer.js';
import { getPlayer, usePlayback } from './player';
import { useUi, type Track } from './store';
import { formatTime } from './format';
import { PEAK_BUCKETS } from '../core/peaks';
import type { ExplanationAudio, OriginalAudio } from '../client/explainerClient';

const TRACKS: { track: Track; label: string; key: string; hint: string; color: string; progress: string }[] = [
  { track: 'original', label: 'Original', key: '1', hint: 'the input as the model hears it', color: '#6f7d95', progress: '#c9d3e6' },
  { track: 'in', label: 'Explanation', key: '2', hint: 'masked-in: what the classifier relied on', color: '#2f9e7d', progress: '#6ff0c4' },
  { track: 'out', label: 'Residual', key: '3', hint: 'masked-out: everything else', color: '#9a5a6a', progress: '#f0a0b4' },
];

function WaveRow(props: {
  /** peaks(signal, PEAK_BUCKETS); null: nothing to draw yet. */
  peaks: Float32Array | null;
  scale: number;
  duration: number;
  color: string;
  progress: string;
  testid: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const wsRef = useRef<WaveSurfer | null>(null);
  const { peaks: pk, scale, duration, color, progress } = props;

  useEffect(() => {
    if (!ref.current) return;
    const ws = WaveSurfer.create({
      container: ref.current,
      height: 64,
      waveColor: color,
      progressColor: progress,
      cursorColor: '#ffd166',
      cursorWidth: 2,
      interact: true,
      normalize: false,
      hideScrollbar: true,
      autoScroll: false,
      // no peaks here: a constructor load would run after (and overwrite) the one below
    });
    ws.on('interaction', (t) => getPlayer().seek(t));
    wsRef.current = ws;
    const unsub = usePlayback.subscribe((s) => ws.setTime(s.time));
    return () => {
      unsub();
      ws.destroy();
      wsRef.current = null;
    };
  }, [color, progress, duration]);

  useEffect(() => {
    const ws = wsRef.current;
    if (!ws) return;
    // a scaled copy: wavesurfer normalises what it gets in place, and the explanation's peaks are shared
    const p = pk ? Float32Array.from(pk, (v) => Math.min(1, v * scale)) : new Float32Array(PEAK_BUCKETS);
    void ws.load('', [p], Math.max(duration, 0.001)).then(() => ws.setTime(usePlayback.getState().time)).catch(() => undefined);
  }, [pk, scale, duration]);

  return <div className="wave" ref={ref} data-testid={props.testid} />;
}

export function Waveforms(props: {
  /** The original's peaks and largest |x| (Analysis.original; long files keep no samples on the page). */
  original: OriginalAudio;
  /** The explanation's WAV files and peaks (the worker's; the page holds no float copy of them). */
  audio: ExplanationAudio | null;
  duration: number;
}) {
  const solo = useUi((s) => s.solo);
  const setSolo = useUi((s) => s.setSolo);
  const playing = usePlayback((s) => s.playing);
  const scale = props.original.maxAbs > 0 ? 1 / props.original.maxAbs : 1;
  const trackPeaks: Record<Track, Float32Array | null> = { original: props.original.peaks, in: props.audio?.peaks.explanation ?? null, out: props.audio?.peaks.residual ?? null };

  return (
    <div className="waveforms">
      <div className="transport">
        <button
          className="play"
          data-testid="play"
          onClick={() => getPlayer().toggle()}
          title="Play / pause (space)"
          aria-label={playing ? 'Pause' : 'Play'}
        >
          {playing ? '❚❚' : '▶'}
        </button>
        <TimeReadout duration={props.duration} />
        <span className="hint">space play/pause · 1/2/3 solo · ←/→ seek 1 s (shift: 5 s) · Home start</span>
      </div>
      {TRACKS.map((t) => (
        <div key={t.track} className={`track ${solo === t.track ? 'active' : ''}`}>
          <button
            className="solo"
            data-testid={`solo-${t.track}`}
            aria-pressed={solo === t.track}
            onClick={() => setSolo(t.track)}
            title={`Listen to ${t.label.toLowerCase()}: ${t.hint} (key ${t.key})`}
            disabled={!trackPeaks[t.track]}
          >
            <span className="key">{t.key}</span> {t.label}
          </button>
          <WaveRow
            peaks={trackPeaks[t.track]}
            scale={scale}
            duration={props.duration}
            color={t.color}
            progress={t.progress}
            testid={`wave-${t.track}`}
          />
        </div>
      ))}
    </div>
  );
}

function TimeReadout({ duration }: { duration: number }) {
  const time = usePlayback((s) => s.time);
  return (
    <span className="time" data-testid="time">
      {formatTime(time)} / {formatTime(duration)}
    </span>
  );
}
