// The explanation as the page gets it (issue 12): the mask as 8-bit levels, the audio as WAV files
// written a part at a time and waveform peaks accumulated a block at a time. Each is checked
// against the one-shot form it replaces: the same bytes, the same peaks, levels within 1/510.
import { describe, expect, it } from 'vitest';
import { explanationAudio, renderExplanation, renderExplanationAudio, residualOf, thresholdMask, type PipelineConfig } from './explain';
import { binaryMaskLevels, maskFromLevels, maskLevel, quantizeMask } from './maskLevels';
import { PeakAccumulator, PEAK_BUCKETS, peaks } from './peaks';
import { mulberry32 } from './perturbation';
import { floatSamples, memoryPcmReader, pcm16Samples, PcmStore, samplesInto, type PcmReader } from './samples';
import { istft, istftFrames, istftFrom, istftStream, signalSource, specSource, stft, stftFrames } from './stft';
import { decodeWav, encodeWav, WavBlobWriter, wavBlob } from './wav';
import { padToPlan, planWindows, signalMaskMean } from './windows';

const SP = { nFft: 1024, winLength: 1024, hopLength: 256 };
const W = 80000;
const CONFIG: PipelineConfig = { sampleRate: 16000, windowSamples: W, stft: SP, classes: 50 };

function noiseTone(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.6 * Math.sin((2 * Math.PI * 440 * i) / 16000) * (i % 9000 < 4000 ? 1 : 0.2) + 0.3 * (r() - 0.5);
  return x;
}

/** A smooth random mask in [0, 1] with exact 0s and 1s in places. */
function randomMask(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const m = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = r();
    m[i] = v < 0.1 ? 0 : v > 0.9 ? 1 : (v - 0.1) / 0.8;
  }
  return m;
}

async function bytesOf(b: Blob): Promise<Uint8Array> {
  return new Uint8Array(await b.arrayBuffer());
}

/** Bit for bit the same typed arrays (a loop: toEqual on millions of elements is very slow); reports the first difference. */
function expectSame(a: ArrayBufferView, b: ArrayBufferView): void {
  expect(a.constructor.name).toBe(b.constructor.name);
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  expect(x.length).toBe(y.length);
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  expect(i === x.length ? -1 : i, 'first differing byte').toBe(-1);
}

describe('peaks a block at a time', () => {
  it('PeakAccumulator equals peaks() of the whole signal for any split, length and bucket count', () => {
    const r = mulberry32(7);
    for (const [n, buckets] of [
      [0, 10],
      [1, 10],
      [6, 100],
      [2399, PEAK_BUCKETS],
      [2400, PEAK_BUCKETS],
      [100_003, PEAK_BUCKETS],
      [100_003, 7],
    ]) {
      const x = noiseTone(n, n + 1);
      const ref = peaks(x, buckets);
      const acc = new PeakAccumulator(n, buckets);
      for (let o = 0; o < n; ) {
        const k = Math.min(n - o, 1 + Math.floor(r() * 5000));
        acc.add(o, x.subarray(o, o + k));
        o += k;
      }
      expectSame(acc.result(), ref);
    }
  });

  it('samples never added count as silence (the focused part of a long file), in any order', () => {
    const n = 50_000;
    const x = new Float32Array(n);
    x.set(noiseTone(9000, 3), 20_000);
    const acc = new PeakAccumulator(n, 600);
    acc.add(24_000, x.subarray(24_000, 29_000));
    acc.add(20_000, x.subarray(20_000, 24_000));
    expectSame(acc.result(), peaks(x, 600));
    expect(() => acc.add(n - 10, new Float32Array(11))).toThrow(/outside/);
  });
});

describe('WAV files a part at a time', () => {
  it('wavBlob gives the bytes of encodeWav (pcm16), across part boundaries, clipping and rounding included', async () => {
    const n = (1 << 19) * 2 + 12_345;
    const x = noiseTone(n, 4);
    x[0] = 1;
    x[1] = -1;
    x[2] = 1.7;
    x[3] = -3;
    x[4] = 0.5 / 32768;
    x[5] = -1.5 / 32768;
    const ref = new Uint8Array(encodeWav(x, 16000, 'pcm16'));
    const b = wavBlob(x, 16000);
    expect(b.type).toBe('audio/wav');
    expect(b.size).toBe(ref.length);
    expectSame(await bytesOf(b), ref);
    expectSame(await bytesOf(wavBlob(new Float32Array(0), 22050)), new Uint8Array(encodeWav(new Float32Array(0), 22050, 'pcm16')));
    // one part or less (a 5 s clip): header and samples in one buffer
    for (const m of [80_000, 1 << 19]) {
      const y = x.subarray(0, m);
      const one = wavBlob(y, 16000);
      expect(one.type).toBe('audio/wav');
      expectSame(await bytesOf(one), new Uint8Array(encodeWav(y, 16000, 'pcm16')));
    }
  });

  it('WavBlobWriter: silence, then blocks of any size, then silence equals encodeWav of the zero-padded signal', async () => {
    const n = 1_300_000;
    const full = new Float32Array(n);
    const part = noiseTone(200_001, 5);
    full.set(part, 700_000);
    const w = new WavBlobWriter(16000, n);
    w.silence(700_000);
    w.write(part.subarray(0, 3));
    w.write(part.subarray(3));
    w.silence(n - 700_000 - part.length);
    expect(w.length).toBe(n);
    expectSame(await bytesOf(w.finish()), new Uint8Array(encodeWav(full, 16000, 'pcm16')));
  });

  it('WavBlobWriter: two writers written in turn (explanation and residual share one conversion buffer) keep their own bytes', async () => {
    const n = (1 << 19) + 70_001;
    const a = noiseTone(n, 6);
    const b = noiseTone(n, 7);
    const wa = new WavBlobWriter(16000, n);
    const wb = new WavBlobWriter(16000, n);
    for (let o = 0; o < n; o += 300_000) {
      wa.write(a.subarray(o, Math.min(n, o + 300_000)));
      wb.write(b.subarray(o, Math.min(n, o + 300_000)));
    }
    // a block over one part (several parts from one write), then the other writer
    const wc = new WavBlobWriter(16000, n);
    wc.write(a);
    wb.silence(0);
    expectSame(await bytesOf(wa.finish()), new Uint8Array(encodeWav(a, 16000, 'pcm16')));
    expectSame(await bytesOf(wb.finish()), new Uint8Array(encodeWav(b, 16000, 'pcm16')));
    expectSame(await bytesOf(wc.finish()), new Uint8Array(encodeWav(a, 16000, 'pcm16')));
  });

  it('says when fewer or more samples are written than the header declares', () => {
    const w = new WavBlobWriter(16000, 10);
    w.write(new Float32Array(4));
    expect(() => w.finish()).toThrow(/4 samples written, the header says 10/);
    expect(() => w.write(new Float32Array(7))).toThrow(/11 samples written/);
    expect(() => w.silence(7)).toThrow(/11 samples written/);
  });
});

describe('8-bit mask levels', () => {
  it('round trip: level / 255 is within 1/510 of the value; 0 and 1 are exact; out-of-range values clamp', () => {
    const m = randomMask(200_000, 6);
    const back = maskFromLevels(quantizeMask(m));
    let worst = 0;
    for (let i = 0; i < m.length; i++) worst = Math.max(worst, Math.abs(back[i] - m[i]));
    expect(worst).toBeLessThanOrEqual(1 / 510 + 1e-7);
    expect(worst).toBeGreaterThan(0);
    expect([maskLevel(0), maskLevel(1), maskLevel(-0.2), maskLevel(1.3), maskLevel(0.5)]).toEqual([0, 255, 0, 255, 128]);
    expect(maskFromLevels(Uint8Array.of(0, 255))).toEqual(Float32Array.of(0, 1));
  });

  it('binary levels are thresholdMask × 255, and their mean is the float mask mean', () => {
    const len = 16000 * 7 + 11;
    const plan = planWindows(len, W, SP.hopLength);
    const m = randomMask(513 * plan.totalFrames, 8);
    const bin = thresholdMask(m, 0.6);
    const lv = binaryMaskLevels(m, 0.6);
    expectSame(Float32Array.from(lv, (v) => v / 255), bin);
    expect(signalMaskMean(lv, plan, 255)).toBe(signalMaskMean(bin, plan));
  });

  it('the ISTFT of a binary mask given as levels is bit for bit the ISTFT of the 0/1 float mask', () => {
    const x = noiseTone(16000 * 3, 9);
    const spec = stft(x, SP);
    const m = randomMask(spec.bins * spec.frames, 10);
    const bin = thresholdMask(m, 0.5);
    const lv = binaryMaskLevels(m, 0.5);
    expectSame(istft(spec, SP, x.length, { mask: lv }), istft(spec, SP, x.length, { mask: bin }));
    expectSame(istft(spec, SP, x.length, { mask: lv, invert: true }), istft(spec, SP, x.length, { mask: bin, invert: true }));
    const a = istftFrames(spec, SP, x.length, 40, 120, { mask: lv });
    const b = istftFrames(spec, SP, x.length, 40, 120, { mask: bin });
    expect(a.start).toBe(b.start);
    expectSame(a.samples, b.samples);
  });
});

describe('istftStream', () => {
  it('hands out [0, length) once, in order, with the values istftFrom returns (incl. the zero tail)', () => {
    const x = noiseTone(16000 * 6 + 3, 11);
    const spec = stft(x, SP);
    const m = randomMask(spec.bins * spec.frames, 12);
    for (const length of [x.length, x.length + 5000, 1000]) {
      const ref = istftFrom(specSource(spec), SP, length, { mask: m, blockFrames: 64 });
      const got = new Float32Array(length);
      let next = 0;
      istftStream(specSource(spec), SP, length, { mask: m, blockFrames: 64 }, (start, s) => {
        expect(start).toBe(next);
        got.set(s, start);
        next = start + s.length;
      });
      expect(next).toBe(length);
      expectSame(got, ref);
    }
  });
});

describe('renderExplanationAudio (long files: no full-length floats)', () => {
  const len = 16000 * 41 + 123;
  const x = noiseTone(len, 13);
  const plan = planWindows(len, W, SP.hopLength);
  // a long file's state: frames computed from the samples (no whole-file STFT)
  const longState = { config: CONFIG, plan, source: signalSource(x, plan.paddedLength, SP), original: x };
  const soft = randomMask(513 * plan.totalFrames, 14);

  for (const threshold of [null, 0.55]) {
    it(`equals renderExplanation + explanationAudio + quantizeMask byte for byte (threshold ${threshold})`, async () => {
      const ref = renderExplanation(longState, 3, soft, threshold);
      const refAudio = explanationAudio(ref.maskedIn, ref.maskedOut, 16000);
      const got = renderExplanationAudio(longState, 3, soft, threshold);
      expect(got.target).toBe(3);
      expect(got.threshold).toBe(threshold);
      expect(got.maskMean).toBe(ref.maskMean);
      expectSame(got.maskLevels, quantizeMask(ref.mask));
      expectSame(await bytesOf(got.audio.explanation), await bytesOf(refAudio.explanation));
      expectSame(await bytesOf(got.audio.residual), await bytesOf(refAudio.residual));
      expectSame(await bytesOf(got.audio.explanation), new Uint8Array(encodeWav(ref.maskedIn, 16000, 'pcm16')));
      expectSame(got.audio.peaks.explanation, peaks(ref.maskedIn, PEAK_BUCKETS));
      expectSame(got.audio.peaks.residual, peaks(ref.maskedOut, PEAK_BUCKETS));
      // and the same as the whole-file path of a short file (the STFT of the padded signal)
      const whole = renderExplanation({ config: CONFIG, plan, spec: stft(padToPlan(x, plan), SP), original: x }, 3, soft, threshold);
      expectSame(ref.maskedIn, whole.maskedIn);
    });
  }

  it('without the original the residual is its own ISTFT, as renderExplanation does it', async () => {
    const noOrig = { ...longState, original: null };
    const ref = renderExplanation(noOrig, 1, soft, null);
    const got = renderExplanationAudio(noOrig, 1, soft, null);
    expectSame(await bytesOf(got.audio.residual), new Uint8Array(encodeWav(ref.maskedOut, 16000, 'pcm16')));
    expectSame(got.audio.peaks.residual, peaks(ref.maskedOut, PEAK_BUCKETS));
  });
});

describe("a long file's samples as 16-bit PCM (the worker's, issue 12)", () => {
  const len = 16000 * 41 + 123;
  const x = noiseTone(len, 21); // |x| < 1: no clipping
  const q = pcm16Samples(x);
  // louder than full scale in places: the conversion clips as the WAV encoder does
  const loud = x.map((v, i) => (i % 50000 < 300 ? 1.7 * v : v));
  const qLoud = pcm16Samples(loud);
  const plan = planWindows(len, W, SP.hopLength);
  const stateOf = (s: Float32Array | Int16Array) => ({ config: CONFIG, plan, source: signalSource(s, plan.paddedLength, SP), original: s });
  const soft = randomMask(513 * plan.totalFrames, 22);
  const LSB = 1 / 32768;
  const wav = async (blob: Blob) => decodeWav(await bytesOf(blob)).channels[0];

  it("are the values of the original's WAV that the page plays (wavBlob), clipping included, read back as q / 32768", async () => {
    const played = await wav(wavBlob(loud, 16000));
    expect(played.length).toBe(len);
    const f = floatSamples(qLoud);
    let bad = -1;
    for (let i = 0; i < len && bad < 0; i++) if (f[i] !== played[i] || qLoud[i] / 32768 !== played[i]) bad = i;
    expect(bad, 'first sample that differs from the played WAV').toBe(-1);
    expect(Math.max(...played.subarray(0, 300))).toBeLessThanOrEqual(1);
    const part = new Float32Array(10);
    samplesInto(qLoud, 1000, 1010, part, 0);
    expectSame(part, played.subarray(1000, 1010));
    expect(floatSamples(x)).toBe(x);
  });

  it('stftFrames of the PCM samples is stftFrames of their float values bit for bit (edges included)', () => {
    const f = floatSamples(q);
    for (const [a, b] of [[0, 40], [1200, 1300], [plan.totalFrames - 30, plan.totalFrames]]) {
      const got = stftFrames(q, plan.paddedLength, SP, a, b);
      const ref = stftFrames(f, plan.paddedLength, SP, a, b);
      expectSame(got.re, ref.re);
      expectSame(got.im, ref.im);
    }
  });

  it('the explanation of the PCM samples is that of the played original byte for byte (WAVs, peaks, levels)', async () => {
    const a = renderExplanationAudio(stateOf(floatSamples(qLoud)), 3, soft, null);
    const b = renderExplanationAudio(stateOf(qLoud), 3, soft, null);
    expectSame(b.maskLevels, a.maskLevels);
    expectSame(await bytesOf(b.audio.explanation), await bytesOf(a.audio.explanation));
    expectSame(await bytesOf(b.audio.residual), await bytesOf(a.audio.residual));
    expectSame(b.audio.peaks.residual, a.audio.peaks.residual);
  });

  for (const threshold of [null, 0.55]) {
    it(`explanation and residual within 2 LSB of the float32 ones; together they are the played original (threshold ${threshold})`, async () => {
      const a = renderExplanationAudio(stateOf(x), 3, soft, threshold);
      const b = renderExplanationAudio(stateOf(q), 3, soft, threshold);
      expectSame(b.maskLevels, a.maskLevels);
      expect(b.maskMean).toBe(a.maskMean);
      const [e32, r32, e16, r16] = await Promise.all([a.audio.explanation, a.audio.residual, b.audio.explanation, b.audio.residual].map(wav));
      let de = 0;
      let dr = 0;
      let sum = 0;
      let energy = 0;
      for (let i = 0; i < len; i++) {
        de = Math.max(de, Math.abs(e16[i] - e32[i]));
        dr = Math.max(dr, Math.abs(r16[i] - r32[i]));
        // each track is rounded to 16 bits on its own: their sum is the played original within one step
        sum = Math.max(sum, Math.abs(e16[i] + r16[i] - q[i] / 32768));
        energy += e16[i] * e16[i];
      }
      expect(energy / len).toBeGreaterThan(1e-3); // the explanation is not silence
      expect(de / LSB).toBeLessThanOrEqual(2);
      expect(dr / LSB).toBeLessThanOrEqual(2);
      expect(sum / LSB).toBeLessThanOrEqual(1);
    });
  }
});

describe("a long file's samples read by range (PcmStore: the worker's file on disk, issue 12)", () => {
  const len = 16000 * 41 + 123;
  const q = pcm16Samples(noiseTone(len, 31));
  const plan = planWindows(len, W, SP.hopLength);
  // a reader that counts what it is asked for: no read may ask for the whole signal
  const reads: number[] = [];
  const counted: PcmReader = { length: len, read: (start, dst) => (reads.push(dst.length), memoryPcmReader(q).read(start, dst)) };
  const store = new PcmStore(counted);
  const stateOf = (s: Int16Array | PcmStore) => ({ config: CONFIG, plan, source: signalSource(s, plan.paddedLength, SP), original: s });
  const soft = randomMask(513 * plan.totalFrames, 32);

  it('stftFrames reads the same samples as from the array, bit for bit, at both reflected ends and in between', () => {
    for (const [a, b] of [[0, 1], [0, 40], [1, 3], [1200, 1300], [plan.totalFrames - 30, plan.totalFrames], [plan.totalFrames - 1, plan.totalFrames]]) {
      const got = stftFrames(store, plan.paddedLength, SP, a, b);
      const ref = stftFrames(q, plan.paddedLength, SP, a, b);
      expectSame(got.re, ref.re);
      expectSame(got.im, ref.im);
    }
  });

  it('samplesInto and floatSamples read by range give the float values of the array', () => {
    const part = new Float32Array(5000);
    samplesInto(store, len - 5000, len, part, 0);
    expectSame(part, floatSamples(q).subarray(len - 5000));
    expectSame(floatSamples(store), floatSamples(q));
    expect(() => store.read(len - 2, new Int16Array(3))).toThrow(/outside/);
  });

  for (const threshold of [null, 0.55]) {
    it(`the explanation's WAVs, peaks and levels are those of the in-memory samples byte for byte, in reads of a block (threshold ${threshold})`, async () => {
      const a = renderExplanationAudio(stateOf(q), 3, soft, threshold);
      reads.length = 0;
      const b = renderExplanationAudio(stateOf(store), 3, soft, threshold);
      expectSame(b.maskLevels, a.maskLevels);
      expect(b.maskMean).toBe(a.maskMean);
      expectSame(await bytesOf(b.audio.explanation), await bytesOf(a.audio.explanation));
      expectSame(await bytesOf(b.audio.residual), await bytesOf(a.audio.residual));
      expectSame(b.audio.peaks.residual, a.audio.peaks.residual);
      expect(reads.length).toBeGreaterThan(1);
      expect(Math.max(...reads)).toBeLessThan(len / 2);
    });
  }

  it('residualOf reads the original by range: original − explanation as from the array', () => {
    const part = noiseTone(len, 33).map((v) => 0.3 * v);
    expectSame(residualOf(store, part), residualOf(q, part));
  });
});

describe('WavBlobWriter sample conversion', () => {
  it('matches encodeWav on the edge values: ±1, beyond, half steps, -0, NaN', async () => {
    const edge = Float32Array.of(1, -1, 1.0001, -1.5, 0.5 / 32768, -0.5 / 32768, 1.5 / 32768, -1.5 / 32768, -0, NaN, 32767.5 / 32768, -32768.5 / 32768, Infinity, -Infinity);
    expectSame(await bytesOf(wavBlob(edge, 8000)), new Uint8Array(encodeWav(edge, 8000, 'pcm16')));
  });
});
