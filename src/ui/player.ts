/**
 * One clock for all three tracks: a single <audio> element whose source is switched between
 * Blob URLs of the original, the explanation (masked-in) and the residual (masked-out) while
 * keeping the current time and the play state. The waveforms and the spectrogram follow
 * `usePlayback` (updated every animation frame while playing).
 */
import { create } from 'zustand';
import type { Track } from './store';

export interface PlaybackState {
  time: number;
  duration: number;
  playing: boolean;
  track: Track;
}

export const usePlayback = create<PlaybackState>()(() => ({ time: 0, duration: 0, playing: false, track: 'original' }));

type Sources = Record<Track, { wav: Blob; url: string } | null>;

export class AudioPlayer {
  readonly el: HTMLAudioElement;
  private sources: Sources = { original: null, in: null, out: null };
  private track: Track = 'original';
  private raf = 0;
  private pendingTime: number | null = null;
  private wantPlay = false;

  constructor() {
    this.el = document.createElement('audio');
    this.el.preload = 'auto';
    this.el.setAttribute('data-testid', 'player');
    this.el.style.display = 'none';
    document.body.appendChild(this.el);
    this.el.addEventListener('loadedmetadata', () => {
      if (this.pendingTime != null) {
        this.el.currentTime = Math.min(this.pendingTime, this.el.duration || this.pendingTime);
        this.pendingTime = null;
      }
      if (this.wantPlay) void this.el.play().catch(() => this.publish());
      this.publish();
    });
    this.el.addEventListener('play', () => this.startTicking());
    this.el.addEventListener('pause', () => this.publish());
    this.el.addEventListener('ended', () => {
      this.wantPlay = false;
      this.publish();
    });
    this.el.addEventListener('seeked', () => this.publish());
  }

  /**
   * Set a track's audio (a WAV file: the worker writes the explanation's and the residual's, the
   * page the original's with wavBlob); the same Blob again keeps the track's source (e.g. the
   * final result after the partial one). The previous source's URL is revoked (its blob can then
   * be freed).
   */
  setTrack(track: Track, wav: Blob | null): void {
    const cur = this.sources[track];
    if (cur?.wav === wav && wav) return;
    if (cur) URL.revokeObjectURL(cur.url);
    this.sources[track] = null;
    if (wav) this.sources[track] = { wav, url: URL.createObjectURL(wav) };
    if (track === this.track) this.applySource(true);
  }

  /** Drop all sources (file closed). */
  clear(): void {
    this.el.pause();
    this.wantPlay = false;
    for (const t of ['original', 'in', 'out'] as Track[]) {
      const s = this.sources[t];
      if (s) URL.revokeObjectURL(s.url);
      this.sources[t] = null;
    }
    this.el.removeAttribute('src');
    this.el.load();
    usePlayback.setState({ time: 0, duration: 0, playing: false });
  }

  solo(track: Track): void {
    if (track === this.track) return;
    this.track = track;
    this.applySource(true);
  }

  private applySource(keepTime: boolean): void {
    const src = this.sources[this.track];
    const t = this.currentTime();
    const playing = !this.el.paused || this.wantPlay;
    this.wantPlay = playing;
    if (!src) {
      this.el.pause();
      this.publish(t);
      return;
    }
    if (this.el.src === src.url) return;
    this.pendingTime = keepTime ? t : 0;
    this.el.src = src.url; // starts loading; 'loadedmetadata' restores the time and resumes
    usePlayback.setState({ track: this.track, time: this.pendingTime });
  }

  currentTime(): number {
    return this.pendingTime ?? this.el.currentTime ?? 0;
  }

  play(): void {
    this.wantPlay = true;
    if (!this.el.src) this.applySource(true);
    if (this.el.readyState >= 1) void this.el.play().catch(() => this.publish());
    this.publish();
  }

  pause(): void {
    this.wantPlay = false;
    this.el.pause();
    this.publish();
  }

  toggle(): void {
    if (this.el.paused) this.play();
    else this.pause();
  }

  seek(t: number): void {
    const d = this.duration();
    const clamped = Math.max(0, d > 0 ? Math.min(t, d) : t);
    if (this.el.readyState >= 1) this.el.currentTime = clamped;
    else this.pendingTime = clamped;
    this.publish(clamped);
  }

  seekBy(dt: number): void {
    this.seek(this.currentTime() + dt);
  }

  duration(): number {
    const d = this.el.duration;
    return Number.isFinite(d) ? d : usePlayback.getState().duration;
  }

  /** Duration known before the media element has loaded (from the analysis). */
  setDuration(d: number): void {
    usePlayback.setState({ duration: d });
  }

  private publish(time = this.currentTime()): void {
    usePlayback.setState({ time, playing: !this.el.paused, track: this.track });
  }

  private startTicking(): void {
    cancelAnimationFrame(this.raf);
    const tick = () => {
      this.publish();
      if (!this.el.paused) this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }
}

let instance: AudioPlayer | null = null;
/** The app's one player (created on first use, in the browser). */
export function getPlayer(): AudioPlayer {
  instance ??= new AudioPlayer();
  return instance;
}
