// Sample-rate conversion for Node (CLIs, tests, benchmarks). The browser client resamples with
// OfflineAudioContext instead. Uses libsamplerate (Secret Rabbit Code) compiled to WASM, from the
// npm package @alexanderolsen/libsamplerate-js (the WASM is inlined: nothing is downloaded).

export type ResampleQuality = 'best' | 'medium' | 'fastest';

// ConverterType values of libsamplerate
const CONVERTER: Record<ResampleQuality, number> = { best: 0, medium: 1, fastest: 2 };

interface LsrModule {
  create(
    channels: number,
    inRate: number,
    outRate: number,
    opts: { converterType: number },
  ): Promise<{ simple(x: Float32Array): Float32Array; destroy(): void }>;
}

let lsr: Promise<LsrModule> | null = null;
function loadLsr(): Promise<LsrModule> {
  // The package is CommonJS: take `create` from the default export when it is there.
  lsr ??= import('@alexanderolsen/libsamplerate-js').then((m) => {
    const mod = m as unknown as LsrModule & { default?: LsrModule };
    return mod.default?.create ? mod.default : mod;
  });
  return lsr;
}

/** Output length for a resampled signal: round(length · toRate / fromRate). */
export function resampledLength(length: number, fromRate: number, toRate: number): number {
  return Math.round((length * toRate) / fromRate);
}

/** Resample mono audio from `fromRate` to `toRate` (band-limited sinc); output has resampledLength() samples. */
export async function resample(
  x: Float32Array,
  fromRate: number,
  toRate: number,
  quality: ResampleQuality = 'best',
): Promise<Float32Array> {
  if (!(fromRate > 0) || !(toRate > 0)) throw new Error(`resample: invalid rates ${fromRate} → ${toRate}`);
  if (fromRate === toRate) return x.slice();
  const n = resampledLength(x.length, fromRate, toRate);
  if (x.length === 0 || n === 0) return new Float32Array(n);
  const { create } = await loadLsr();
  const src = await create(1, fromRate, toRate, { converterType: CONVERTER[quality] });
  try {
    const y = src.simple(x);
    if (y.length === n) return y;
    const out = new Float32Array(n);
    out.set(y.subarray(0, n));
    return out;
  } finally {
    src.destroy();
  }
}
