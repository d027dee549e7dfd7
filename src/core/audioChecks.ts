// Validation of user audio with specific messages that name the file (docs/DESIGN.md, errors).

/** An audio file could not be used; `message` starts with the file name. */
export class AudioLoadError extends Error {
  readonly fileName: string;
  readonly reason: string;
  constructor(fileName: string, reason: string) {
    super(`${fileName}: ${reason}`);
    this.name = 'AudioLoadError';
    this.fileName = fileName;
    this.reason = reason;
  }
}

export interface AudioLimits {
  /** Longest accepted audio in seconds (default 2 h). */
  maxDurationS: number;
  /** Largest accepted file in bytes (default 2 GiB: decoding larger files exhausts memory). */
  maxBytes: number;
  /** Peak absolute amplitude at or below which audio counts as silent (default 1e-4, −80 dBFS). */
  silencePeak: number;
}

export const DEFAULT_LIMITS: AudioLimits = { maxDurationS: 2 * 3600, maxBytes: 2 * 1024 ** 3, silencePeak: 1e-4 };

/** Human-readable duration: "850 ms", "12.3 s", "4.5 min", "3.2 h". */
export function formatDuration(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${+s.toFixed(1)} s`;
  if (s < 3600) return `${+(s / 60).toFixed(1)} min`;
  return `${+(s / 3600).toFixed(1)} h`;
}

function formatBytes(b: number): string {
  if (b >= 1024 ** 3) return `${+(b / 1024 ** 3).toFixed(1)} GB`;
  if (b >= 1024 ** 2) return `${+(b / 1024 ** 2).toFixed(1)} MB`;
  return `${b} bytes`;
}

/** Checks before decoding: the file is not empty and not absurdly large. Throws AudioLoadError. */
export function checkFileBytes(fileName: string, byteLength: number, limits: Partial<AudioLimits> = {}): void {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  if (byteLength === 0) throw new AudioLoadError(fileName, 'the file is empty (0 bytes)');
  if (byteLength > lim.maxBytes)
    throw new AudioLoadError(fileName, `${formatBytes(byteLength)} is larger than the ${formatBytes(lim.maxBytes)} limit`);
}

/** Check a duration (e.g. from the decoder, before resampling) against the limit. Throws AudioLoadError. */
export function checkDuration(fileName: string, durationS: number, limits: Partial<AudioLimits> = {}): void {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  if (!(durationS > 0)) throw new AudioLoadError(fileName, 'the audio has no samples (duration 0)');
  if (durationS > lim.maxDurationS)
    throw new AudioLoadError(fileName, `${formatDuration(durationS)} is longer than the ${formatDuration(lim.maxDurationS)} limit`);
}

/** Checks after decoding: samples exist, are finite, are not silent, and are not too long. Throws AudioLoadError. */
export function checkSamples(fileName: string, samples: Float32Array, sampleRate: number, limits: Partial<AudioLimits> = {}): void {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  if (!(sampleRate > 0)) throw new AudioLoadError(fileName, `invalid sample rate (${sampleRate})`);
  if (samples.length === 0) throw new AudioLoadError(fileName, 'the audio has no samples (duration 0)');
  checkDuration(fileName, samples.length / sampleRate, lim);
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (!Number.isFinite(v)) throw new AudioLoadError(fileName, `the audio contains invalid values (${v} at sample ${i})`);
    const a = Math.abs(v);
    if (a > peak) peak = a;
  }
  if (peak <= lim.silencePeak) throw new AudioLoadError(fileName, 'the audio is silent');
}
