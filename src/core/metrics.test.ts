import { describe, expect, it } from 'vitest';
import { averageMetrics, clipMetrics, complexity, maskMetrics, sparseness } from './metrics';

describe('faithfulness metrics (methods.md definitions)', () => {
  it('matches models/train/metrics.py on the same inputs', () => {
    // Expected numbers: metrics.per_example() of the Python reference on exactly these tensors
    // (float32 there, so compared to ~1e-6).
    const p = [
      [0.7, 0.2, 0.1],
      [0.1, 0.3, 0.6],
    ];
    const q = [
      [0.5, 0.3, 0.2],
      [0.05, 0.15, 0.8],
    ];
    const r = [
      [0.2, 0.5, 0.3],
      [0.3, 0.3, 0.4],
    ];
    const c = [0, 2];
    const m = [
      [0.1, 0.9, 0.5, 0.0, 0.3, 1.0],
      [0.2, 0.2, 0.2, 0.7, 0.05, 0.6],
    ];
    const py = {
      AI: [0.0, 100.0],
      AD: [28.571426391601562, 0.0],
      AG: [0.0, 50.0],
      FF: [0.5, 0.20000001788139343],
      FidIn: [1.0, 1.0],
      SPS: [0.45238086581230164, 0.3803417682647705],
      COMP: [1.3984938859939575, 1.525068998336792],
      MM: [0.46666666865348816, 0.32500001788139343],
    };
    const rows = [0, 1].map((i) => clipMetrics(p[i], q[i], r[i], c[i], new Float32Array(m[i])));
    for (const [k, vals] of Object.entries(py)) {
      rows.forEach((row, i) => expect(row[k as keyof typeof py], `${k}[${i}]`).toBeCloseTo(vals[i], 5));
    }
    const avg = averageMetrics(rows);
    expect(avg.n).toBe(2);
    expect(avg.AI).toBe(50);
    expect(avg.AD).toBeCloseTo(28.5714286 / 2, 5);
    expect(avg.FF).toBeCloseTo(0.35, 6);
  });

  it('hand-computed case: masked-in loses confidence, residual keeps little', () => {
    // p_c = 0.8, q_c = 0.6, r_c = 0.1; argmax q = 1 ≠ argmax p = 0.
    const m = clipMetrics([0.8, 0.2], [0.4, 0.6].reverse(), [0.1, 0.9], 0, [1, 0, 0, 0]);
    expect(m.pc).toBeCloseTo(0.8);
    expect(m.qc).toBeCloseTo(0.6);
    expect(m.AI).toBe(0);
    expect(m.AD).toBeCloseTo((100 * 0.2) / 0.8, 10); // 25
    expect(m.AG).toBe(0);
    expect(m.FF).toBeCloseTo(0.7, 10);
    expect(m.FidIn).toBe(1);
    // mask [1,0,0,0]: a = [1e-7,1e-7,1e-7,1+1e-7]; Gini = (−3a1 −a2 +a3 +3a4)/(4Σa)
    const a = 1e-7;
    expect(m.SPS).toBeCloseTo((-3 * a - a + a + 3 * (1 + a)) / (4 * (1 + 4 * a)), 12);
    expect(m.COMP).toBe(0); // all mass on one element
    expect(m.MM).toBe(0.25);
  });

  it('gain and decision change: q_c > p_c, argmax q differs', () => {
    const m = clipMetrics([0.5, 0.3, 0.2], [0.3, 0.2, 0.5], [0.6, 0.3, 0.1], 2, [0.5, 0.5]);
    expect(m.AI).toBe(100);
    expect(m.AD).toBe(0);
    expect(m.AG).toBeCloseTo((100 * 0.3) / 0.8, 10); // 37.5
    expect(m.FF).toBeCloseTo(0.1, 10);
    expect(m.FidIn).toBe(0);
  });

  it('p_c = 1: no division by zero, AG = 0, AD relative to 1', () => {
    const m = clipMetrics([1, 0], [0.9, 0.1], [0.2, 0.8], 0, [0.5, 0.25]);
    expect(m.AG).toBe(0);
    expect(m.AI).toBe(0);
    expect(m.AD).toBeCloseTo(10, 10);
    expect(m.FF).toBeCloseTo(0.8, 10);
    const same = clipMetrics([1, 0], [1, 0], [1, 0], 0, [1]);
    expect(same.AG).toBe(0);
    expect(same.AD).toBe(0);
    expect(Number.isFinite(same.AG)).toBe(true);
  });

  it('all-zero mask: SPS 0, COMP 0, MM 0 (reference conventions)', () => {
    const z = new Float32Array(1000);
    expect(sparseness(z)).toBeCloseTo(0, 12);
    expect(complexity(z)).toBe(0);
    expect(maskMetrics(z)).toEqual({ SPS: expect.closeTo(0, 12), COMP: 0, MM: 0 });
  });

  it('constant mask: SPS 0, COMP = ln n, MM = the constant', () => {
    const n = 513 * 7;
    const k = new Float32Array(n).fill(0.3);
    const mm = maskMetrics(k);
    expect(mm.SPS).toBeCloseTo(0, 10);
    expect(mm.COMP).toBeCloseTo(Math.log(n), 9);
    expect(mm.MM).toBeCloseTo(0.3, 6);
  });

  it('Gini of a 1-of-n mask is (1 − 1/n)/(1 + n·1e-7) (the 1e-7 floor of every element)', () => {
    const n = 10000;
    const x = new Float32Array(n);
    x[123] = 1;
    expect(sparseness(x)).toBeCloseTo((1 - 1 / n) / (1 + n * 1e-7), 10);
  });

  it('rejects mismatched inputs', () => {
    expect(() => clipMetrics([0.5, 0.5], [1], [0.5, 0.5], 0, [1])).toThrow(/same length/);
    expect(() => clipMetrics([0.5, 0.5], [0.5, 0.5], [0.5, 0.5], 2, [1])).toThrow(/out of range/);
  });
});
