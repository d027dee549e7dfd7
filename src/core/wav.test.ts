import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWav, downmix, encodeWav } from './wav';

function sine(n: number, sr: number, f: number, a = 0.8): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => a * Math.sin((2 * Math.PI * f * i) / sr));
}

/** Build a WAV by hand for formats encodeWav does not write (24-bit, stereo, 8-bit). */
function handWav(bits: number, channels: number[][], rate: number, tag = 1): Uint8Array {
  const nch = channels.length;
  const n = channels[0].length;
  const bps = bits / 8;
  const data = n * nch * bps;
  const b = new Uint8Array(44 + data);
  const v = new DataView(b.buffer);
  const s = (o: number, t: string) => [...t].forEach((c, i) => (b[o + i] = c.charCodeAt(0)));
  s(0, 'RIFF');
  v.setUint32(4, 36 + data, true);
  s(8, 'WAVE');
  s(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, tag, true);
  v.setUint16(22, nch, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * nch * bps, true);
  v.setUint16(32, nch * bps, true);
  v.setUint16(34, bits, true);
  s(36, 'data');
  v.setUint32(40, data, true);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < nch; c++) {
      const p = 44 + (i * nch + c) * bps;
      const x = channels[c][i];
      if (bits === 24) {
        const q = Math.round(x * 8388607) & 0xffffff;
        b[p] = q & 0xff;
        b[p + 1] = (q >> 8) & 0xff;
        b[p + 2] = (q >> 16) & 0xff;
      } else if (bits === 8) b[p] = Math.min(127, Math.round(x * 128)) + 128; // unsigned, offset 128, step 1/128 (the decoder's scale)
      else if (bits === 32 && tag === 3) v.setFloat32(p, x, true);
      else throw new Error('unsupported in test');
    }
  return b;
}

describe('wav', () => {
  it('16-bit PCM round trip is within one quantisation step and keeps the rate', () => {
    const x = sine(16000, 16000, 440);
    x[5] = 1.5; // clipped
    x[6] = -1;
    const buf = encodeWav(x, 16000);
    expect(buf.byteLength).toBe(44 + 2 * x.length);
    const d = decodeWav(buf);
    expect(d.sampleRate).toBe(16000);
    expect(d.bitsPerSample).toBe(16);
    expect(d.channels.length).toBe(1);
    expect(d.channels[0].length).toBe(x.length);
    let maxErr = 0;
    for (let i = 0; i < x.length; i++) if (i !== 5) maxErr = Math.max(maxErr, Math.abs(x[i] - d.channels[0][i]));
    expect(maxErr).toBeLessThanOrEqual(0.5 / 32768 + 1e-9);
    expect(d.channels[0][5]).toBeCloseTo(32767 / 32768, 6);
    expect(d.channels[0][6]).toBe(-1);
  });

  it('float32 round trip is exact', () => {
    const x = sine(1234, 22050, 1000, 0.99);
    const d = decodeWav(encodeWav(x, 22050, 'float32'));
    expect(d.format).toBe('float');
    expect(Array.from(d.channels[0])).toEqual(Array.from(x));
  });

  it('decodes 24-bit stereo, 8-bit and float written by hand, and downmixes', () => {
    const l = Array.from({ length: 100 }, (_, i) => Math.sin(i / 5) * 0.5);
    const r = Array.from({ length: 100 }, (_, i) => Math.cos(i / 7) * 0.25);
    const d24 = decodeWav(handWav(24, [l, r], 44100));
    expect(d24.channels.length).toBe(2);
    expect(d24.sampleRate).toBe(44100);
    for (let i = 0; i < 100; i++) {
      expect(d24.channels[0][i]).toBeCloseTo(l[i], 6);
      expect(d24.channels[1][i]).toBeCloseTo(r[i], 6);
    }
    const mono = downmix(d24.channels);
    expect(mono[10]).toBeCloseTo((l[10] + r[10]) / 2, 6);
    // 8-bit: every sample within half a quantisation step (1/128); 32-bit float: exactly the float32 written
    const d8 = decodeWav(handWav(8, [l], 8000));
    expect(d8.bitsPerSample).toBe(8);
    expect(d8.channels[0].length).toBe(l.length);
    let err8 = 0;
    for (let i = 0; i < l.length; i++) err8 = Math.max(err8, Math.abs(d8.channels[0][i] - l[i]));
    expect(err8).toBeLessThanOrEqual(0.5 / 128 + 1e-9);
    const df = decodeWav(handWav(32, [l], 8000, 3));
    expect(df.format).toBe('float');
    expect(Array.from(df.channels[0])).toEqual(l.map((v) => Math.fround(v)));
  });

  it('gives specific errors for non-WAV and broken headers', () => {
    expect(() => decodeWav(new Uint8Array([1, 2, 3]))).toThrow(/not a WAV file/);
    const noData = new Uint8Array(encodeWav(new Float32Array(4), 8000)).slice(0, 36);
    expect(() => decodeWav(noData)).toThrow(/no data chunk/);
    const odd = handWav(24, [[0.1]], 8000);
    new DataView(odd.buffer).setUint16(34, 12, true);
    expect(() => decodeWav(odd)).toThrow(/12-bit/);
  });

  it('tolerates a truncated data chunk (decodes what is there)', () => {
    const buf = new Uint8Array(encodeWav(sine(1000, 8000, 100), 8000)).slice(0, 44 + 500);
    expect(decodeWav(buf).channels[0].length).toBe(250);
  });

  const hasSox = (() => {
    try {
      execFileSync('sox', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasSox)('reads a 24-bit file written by sox, and sox reads ours (sox installed)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wavtest-'));
    try {
      const p24 = join(dir, 'a.wav');
      execFileSync('sox', ['-n', '-r', '16000', '-b', '24', '-c', '2', p24, 'synth', '0.5', 'sine', '1000', 'vol', '0.5']);
      const d = decodeWav(readFileSync(p24));
      expect(d.bitsPerSample).toBe(24);
      expect(d.channels.length).toBe(2);
      expect(d.channels[0].length).toBe(8000);
      const peak = d.channels[0].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(peak).toBeGreaterThan(0.45);
      expect(peak).toBeLessThan(0.55);
      const ours = join(dir, 'ours.wav');
      writeFileSync(ours, new Uint8Array(encodeWav(sine(16000, 16000, 440, 0.5), 16000)));
      const info = execFileSync('soxi', [ours]).toString();
      expect(info).toMatch(/Sample Rate\s*:\s*16000/);
      expect(info).toMatch(/16-bit/);
      expect(info).toMatch(/16000 samples/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
