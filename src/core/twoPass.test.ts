// Two-pass analysis of long files (issue 12): the windows that tile the file first (provisional
// classes = their mean), then the rest in the order an explanation asks for (what is on screen
// first); the final analysis and an explanation stitched while the second pass ran equal the
// one-shot ones, on the real models.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../tests/skip';
import { createNodeModel, loadBundleDir, type NodeModel } from '../node/ortNode';
import { AnalysisFill, analyze, firstPassWindows, pipelineConfig, renderExplanation, stitchedMask, TWO_PASS_MIN_WINDOWS, type AnalysisState, type FocusMask, type PipelineConfig } from './explain';
import { mulberry32 } from './perturbation';
import { planWindows } from './windows';
import type { ModelRunner } from './modelRunner';

function noiseTone(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / 16000;
    // a tone that comes and goes, knocks and noise, changing over the file (classes differ by window)
    x[i] = (t % 11 < 6 ? 0.4 * Math.sin(2 * Math.PI * (300 + 20 * t) * t) : 0) + (i % 7000 < 300 ? 0.5 * (r() - 0.5) : 0.05 * (r() - 0.5));
  }
  return x;
}

/** One model run at a time, as the worker's queue (ORT sessions are not re-entrant); the analysis and an explanation interleave per batch. */
function serialized<H>(r: ModelRunner<H>): ModelRunner<H> {
  let chain: Promise<unknown> = Promise.resolve();
  const one = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
  return Object.create(r, {
    runClassifier: { value: (...a: Parameters<ModelRunner<H>['runClassifier']>) => one(() => r.runClassifier(...a)) },
    runDecoder: { value: (...a: Parameters<ModelRunner<H>['runDecoder']>) => one(() => r.runDecoder(...a)) },
  }) as ModelRunner<H>;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('the first pass', () => {
  it('every other window and the last one cover every frame of the file', () => {
    for (const len of [16000 * 30, 16000 * 61 + 123, 16000 * 62, 80000 * 7 + 40000, 16000 * 3600]) {
      for (const [W, hop] of [
        [80000, 256],
        [16000, 160],
        [80000 + 256, 256],
      ]) {
        const plan = planWindows(len, W, hop);
        const first = firstPassWindows(plan);
        const covered = new Uint8Array(plan.totalFrames);
        for (const w of first) covered.fill(1, plan.frameOffsets[w], plan.frameOffsets[w] + plan.windowFrames);
        expect(covered.indexOf(0), `length ${len}, window ${W}, hop ${hop}`).toBe(-1);
        expect(first).toContain(plan.starts.length - 1);
        expect(first.length).toBeLessThanOrEqual(Math.floor(plan.starts.length / 2) + 1);
      }
    }
  });

  it('AnalysisFill: prioritised windows first, only held ones while held, then the rest', async () => {
    const fill = new AnalysisFill(10, [1, 3, 5, 7, 9]);
    fill.markDone([0, 2, 4, 6, 8]);
    fill.prioritize([7, 5, 2]);
    const release = fill.hold([7]);
    expect(await fill.next(2)).toEqual([7]);
    fill.markDone([7]);
    // held: nothing else until released
    let got: number[] | null | undefined;
    const p = fill.next(2).then((w) => (got = w));
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toBeUndefined();
    release();
    await p;
    expect(got).toEqual([1, 5]);
    expect(await fill.next(4)).toEqual([3, 9]);
    expect(await fill.next(4)).toBeNull();
    fill.markDone([1, 5, 3, 9]);
    expect(fill.windowsDone).toBe(10);
    fill.finish();
    await fill.finished();
  });

  it('a waiter rejects when the analysis fails or its own signal aborts', async () => {
    const fill = new AnalysisFill(4, [1, 3]);
    const ac = new AbortController();
    const a = fill.changed(ac.signal);
    ac.abort(new DOMException('cancelled', 'AbortError'));
    await expect(a).rejects.toMatchObject({ name: 'AbortError' });
    const b = fill.finished();
    fill.fail(new Error('model failed'));
    await expect(b).rejects.toThrow('model failed');
  });
});

const bundleDir = join(resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..'), 'models', 'esc50');
const hasBundle = existsSync(join(bundleDir, 'manifest.json'));

describe.skipIf(skipUnless(hasBundle, 'two-pass analysis on models/esc50', `no ${join(bundleDir, 'manifest.json')}`))('two-pass analysis on models/esc50 (onnxruntime-web, Node)', () => {
  let model: NodeModel;
  let cfg: PipelineConfig;
  beforeAll(async () => {
    const files = await loadBundleDir(bundleDir);
    cfg = pipelineConfig(files.manifest);
    model = await createNodeModel(files, 'ort-web');
  });
  afterAll(async () => model?.release());

  for (const wholeStftMaxS of [120, 20]) {
    it(`${wholeStftMaxS === 20 ? 'frames by window (long-file path)' : 'whole-file STFT'}: provisional classes = mean over the first pass; the final analysis and an explanation stitched during the second pass equal the one-shot ones`, async () => {
      const x = noiseTone(16000 * 60 + 777, 11);
      const oneShot = await analyze(x, cfg, model.runner, { batchSize: 4, wholeStftMaxS });
      const nWin = oneShot.plan.starts.length;
      expect(nWin).toBeGreaterThan(TWO_PASS_MIN_WINDOWS);
      expect(oneShot.fill).toBeUndefined();
      const target = 7;
      const expectedMask = (await stitchedMask(oneShot, model.runner, target)).slice();

      const first = firstPassWindows(oneShot.plan);
      const TT = oneShot.plan.totalFrames;
      // what is on screen: frames in the second half, away from the start of the second pass
      const focus = { frame0: Math.round(TT * 0.7), frame1: Math.round(TT * 0.8) };
      // (set in the callbacks)
      const box: {
        provisional?: { probs: Float32Array; windowsDone: number; maxMagnitude: number };
        during?: Promise<Float32Array>;
        atFocus?: { f: FocusMask; complete: boolean; windowsDone: number };
        aborted?: Promise<unknown>;
      } = {};
      const runner = serialized(model.runner);
      const progress: number[] = [];
      const st = await analyze(x, cfg, runner, {
        batchSize: 4,
        wholeStftMaxS,
        onProgress: (p) => p.stage === 'classifier' && progress.push(p.done),
        onProvisional: (s) => {
          const state = s as AnalysisState<typeof oneShot extends AnalysisState<infer H> ? H : never>;
          box.provisional = { probs: state.probs.slice(), windowsDone: state.fill!.windowsDone, maxMagnitude: state.maxMagnitude };
          // an explanation asked for while the second pass runs, focused on the part on screen
          box.during = stitchedMask(state, runner, target, {
            focus,
            onFocus: (f) => (box.atFocus = { f, complete: state.fill!.complete, windowsDone: state.fill!.windowsDone }),
          });
          // and one cancelled while it waits for its windows: it rejects, the analysis goes on
          const ac = new AbortController();
          box.aborted = stitchedMask(state, runner, 3, { focus: { frame0: 10, frame1: 20 }, onFocus: () => undefined, signal: ac.signal }).catch((e: unknown) => e);
          ac.abort(new DOMException('cancelled', 'AbortError'));
        },
      });
      expect(box.provisional).toBeDefined();
      const p = box.provisional!;
      expect(p.windowsDone).toBe(first.length);
      // the provisional classes are the mean over the first pass' windows (of the one-shot analysis too)
      const C = cfg.classes;
      const mean = new Float32Array(C);
      for (const w of first) for (let k = 0; k < C; k++) mean[k] += oneShot.windowProbs[w * C + k] / first.length;
      expect(maxDiff(p.probs, mean)).toBeLessThan(1e-6);
      // and differ from the final ones (a file whose windows differ)
      expect(maxDiff(p.probs, oneShot.probs)).toBeGreaterThan(1e-4);
      // the first pass covers every frame: the file's largest |X| is known already
      expect(p.maxMagnitude).toBe(oneShot.maxMagnitude);
      expect(((await box.aborted) as DOMException).name).toBe('AbortError');

      // the final analysis is the one-shot one (to float precision: the batches differ)
      expect(st.fill!.complete).toBe(true);
      expect(maxDiff(st.logits, oneShot.logits)).toBeLessThan(1e-4);
      expect(maxDiff(st.windowProbs, oneShot.windowProbs)).toBeLessThan(1e-6);
      expect(maxDiff(st.probs, oneShot.probs)).toBeLessThan(1e-6);
      expect(st.maxMagnitude).toBe(oneShot.maxMagnitude);
      expect(st.chunks.reduce((n, c) => n + c.windows.length, 0)).toBe(nWin);
      expect(progress[progress.length - 1]).toBe(nWin);

      // the explanation stitched while the second pass ran: its part on screen came before the
      // pass ended, with only the windows on screen classified meanwhile, and it ends with the one-shot mask
      const mask = await box.during!;
      expect(box.atFocus).toBeDefined();
      const af = box.atFocus!;
      expect(af.complete).toBe(false);
      const onScreen = oneShot.plan.starts.map((_, w) => w).filter((w) => oneShot.plan.frameOffsets[w] < focus.frame1 && oneShot.plan.frameOffsets[w] + oneShot.plan.windowFrames > focus.frame0);
      const pendingOnScreen = onScreen.filter((w) => !first.includes(w)).length;
      // (plus at most one batch the pass had started before the request)
      expect(af.windowsDone).toBeLessThanOrEqual(first.length + pendingOnScreen + 4);
      expect(af.f.windowsDone).toBeLessThan(nWin);
      expect(af.f.frame0).toBeLessThanOrEqual(focus.frame0);
      expect(af.f.frame1).toBeGreaterThanOrEqual(focus.frame1);
      expect(maxDiff(mask, expectedMask)).toBeLessThan(1e-5);
      // the same again on the final state (cached hidden outputs of the two-pass batches)
      st.lastSoft = null;
      const again = await stitchedMask(st, model.runner, target);
      expect(maxDiff(again, expectedMask)).toBeLessThan(1e-5);
      // and the audio
      const r1 = renderExplanation(oneShot, target, expectedMask, null);
      const r2 = renderExplanation(st, target, mask, null);
      expect(maxDiff(r2.maskedIn, r1.maskedIn)).toBeLessThan(1e-5);
      expect(maxDiff(r2.maskedOut, r1.maskedOut)).toBeLessThan(1e-5);
    }, 120_000);
  }

  it('short files and calls without onProvisional: one pass, as before', async () => {
    const x = noiseTone(16000 * 20, 12);
    let called = false;
    const st = await analyze(x, cfg, model.runner, { batchSize: 4, onProvisional: () => (called = true) });
    expect(st.plan.starts.length).toBeLessThanOrEqual(TWO_PASS_MIN_WINDOWS);
    expect(called).toBe(false);
    expect(st.fill).toBeUndefined();
    expect(st.chunks[0].windows).toEqual([0, 1, 2, 3]);
    expect(st.chunks.flatMap((c) => c.windows)).toEqual(st.plan.starts.map((_, w) => w));
  });
});
