// Node-only helpers (tests, benchmarks, CLIs): read a bundle from disk and build a ModelRunner
// with onnxruntime-web (its Node build: cpu/wasm, given model bytes) or onnxruntime-node (native).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { loadBundleFromBytes, type BundleFiles } from '../core/manifest';
import { createOrtRunner, type ModelRunner, type TensorCtor } from '../core/modelRunner';
import { Vocabulary } from '../core/textEncoder';

export type NodeBackend = 'ort-web' | 'ort-node';

/** Read and verify a bundle directory (manifest.json + model files). */
export async function loadBundleDir(dir: string): Promise<BundleFiles> {
  const manifest = await readFile(join(dir, 'manifest.json'));
  return loadBundleFromBytes(new Uint8Array(manifest), async (rel) => new Uint8Array(await readFile(join(dir, rel))));
}

export interface NodeModel {
  runner: ModelRunner<Tensor[]>;
  backend: NodeBackend;
  release(): Promise<void>;
}

interface OrtLike {
  Tensor: TensorCtor;
  InferenceSession: { create(model: Uint8Array, opts?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  env: { wasm: { numThreads?: number } };
}

/** Create classifier + decoder (+ time decoder, text projector) sessions (sequentially) and wrap them in a ModelRunner. */
export async function createNodeModel(
  files: BundleFiles,
  backend: NodeBackend = 'ort-web',
  opts: { threads?: number } = {},
): Promise<NodeModel> {
  const ort = (backend === 'ort-web' ? await import('onnxruntime-web') : await import('onnxruntime-node')) as unknown as OrtLike;
  const so: InferenceSession.SessionOptions =
    backend === 'ort-web'
      ? { executionProviders: ['wasm'] }
      : {
          executionProviders: ['cpu'],
          intraOpNumThreads: opts.threads ?? 0,
          interOpNumThreads: 1,
          // no busy-waiting threads between runs: the JS DSP shares the same cores
          extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
        };
  if (backend === 'ort-web' && opts.threads) ort.env.wasm.numThreads = opts.threads;
  const classifier = await ort.InferenceSession.create(files.classifier, so);
  const decoder = files.decoder ? await ort.InferenceSession.create(files.decoder, so) : null;
  const timeDecoder = files.timeDecoder ? await ort.InferenceSession.create(files.timeDecoder, so) : null;
  const te = files.manifest.textEncoder;
  const projector = files.text ? await ort.InferenceSession.create(files.text.projector, so) : null;
  const text = te && files.text && projector ? { projector, vocab: new Vocabulary(te, files.text.words, files.text.vectors) } : null;
  const runner = createOrtRunner(files.manifest, ort.Tensor, classifier, decoder, text, timeDecoder);
  return {
    runner,
    backend,
    async release() {
      await classifier.release();
      if (decoder) await decoder.release();
      if (timeDecoder) await timeDecoder.release();
      if (projector) await projector.release();
    },
  };
}
