// Typed messages between the main thread (src/client/explainerClient.ts) and the inference
// Worker (src/worker/inferenceWorker.ts). Every request has a numeric id; the worker answers with
// progress messages and exactly one result or error for that id. Large arrays travel as
// transferables (their buffers move, no copies).

import type { ClipMetrics } from '../core/metrics';
import type { GraphMeta } from '../core/modelForm';
import type { ExplanationAudio } from '../core/explain';

export type { ExplanationAudio } from '../core/explain';
/**
 * Files up to this long (s) also get the explanation as float32 arrays (mask, maskedIn,
 * maskedOut), as before issue 12; longer ones only the 8-bit mask levels and the WAV files.
 */
export const FLOAT_ARRAYS_MAX_S = 120;
/** Names of the WAV files the worker writes to disk (src/worker/diskAudio.ts): the page tells them from its other Blobs by it. */
export const DISK_AUDIO_PREFIX = 'lmac-track-';

export type { ClipMetrics } from '../core/metrics';
export type { GraphMeta, TensorMeta } from '../core/modelForm';
export type BackendChoice = 'auto' | 'wasm' | 'webgpu';
/**
 * Which explainer makes the explanation: the L-MAC mask decoder, the LMAC-TD time decoder (its
 * explanation is a waveform; only for bundles with one, `BundleInfo.hasTimeDecoder`), the
 * model-agnostic perturbation explainer, or the latent explainer (bundles with a `latent` block,
 * `BundleInfo.hasLatent`: the explanation is decoded from the top-β latent features).
 */
export type ExplainerKind = 'lmac' | 'lmactd' | 'perturbation' | 'latent';

/** Settings of the latent explainer (explainer 'latent'; src/core/latent.ts). */
export interface LatentSettings {
  /** Fraction of the latent (channel, time group) cells kept, 0..1 (default 0.1). */
  beta?: number;
  /** Attribution (default 'gradxinput'). */
  method?: 'gradxinput' | 'occlusion';
  /** A name in the manifest's latent.baselines (default: latent.baseline). */
  baseline?: string;
}

/** What the latent explainer made (ExplanationMsg.latent): its settings and the attribution per window. */
export interface LatentInfo {
  beta: number;
  method: 'gradxinput' | 'occlusion';
  baseline: string;
  channels: number;
  groups: number;
  /** Analysis windows of the file (each attributed on its own). */
  windows: number;
  /** Attribution per cell [windows × channels × groups] (window-, then channel-major). */
  scores: Float32Array;
  /** 1 where the cell is among the window's top-β kept, same layout. */
  keep: Uint8Array;
}

/** Options of the perturbation explainer (src/core/perturbation.ts). */
export interface PerturbationSettings {
  /** Random segment masks (default 300). */
  samples?: number;
  /** Segment length in ms (default 100). */
  segmentMs?: number;
  /** PRNG seed (default 1). */
  seed?: number;
}

/** Per-segment result of the perturbation explainer. */
export interface SegmentInfo {
  segmentS: number;
  /** Ridge-surrogate weight per segment (log-odds units). */
  importance: Float32Array;
  /** R² of the surrogate on its samples. */
  r2: number;
  samples: number;
}
export type BackendInUse = 'webgpu' | 'wasm';

export interface Progress {
  stage: string;
  done: number;
  total: number;
}

export interface BundleInfo {
  name: string;
  description: string;
  license: string;
  labels: string[];
  sampleRate: number;
  windowSamples: number;
  nFft: number;
  hopLength: number;
  /** What the classifier takes: |X| [B, bins, frames] or the waveform [B, windowSamples]. */
  inputKind: 'magnitude' | 'waveform';
  hasDecoder: boolean;
  /** The bundle has an LMAC-TD time decoder: the 'lmactd' explainer is offered. */
  hasTimeDecoder: boolean;
  /** The bundle has a `latent` block (encoder, decoder, latent classifier): the 'latent' explainer is offered. */
  hasLatent: boolean;
  /** Zero-shot bundle: typed prompts can be explained (text encoder + prompt-conditioned decoder). */
  prompts: boolean;
  /** Backend in use. */
  backend: BackendInUse;
  /** Why this backend (e.g. why WebGPU was rejected). */
  backendNote?: string;
  /** The backend setting the sessions were created for. */
  backendChoice: BackendChoice;
  /** WASM threads (1 without cross-origin isolation). */
  threads: number;
  /** Extra manifest fields (e.g. `results`). */
  extra: Record<string, unknown>;
}

/** What the worker returns for an analysis (the client adds samples, name, decode timings). */
export interface AnalysisMsg {
  fileId: string;
  sampleRate: number;
  durationS: number;
  bins: number;
  frames: number;
  hopLength: number;
  /** |X| of the whole file in dB mapped to 0..255 over the 80 dB below its maximum, bin-major [bins*frames] (for drawing). */
  levels: Uint8Array;
  probs: Float32Array;
  windows: { startS: number; endS: number; probs: Float32Array }[];
  /** Whether the classifier's hidden outputs are cached (false past the memory budget). */
  cached: boolean;
  /** Files over FLOAT_ARRAYS_MAX_S: the original as the player plays it (the worker's WAV of its 16-bit samples; on disk where it can). */
  originalWav?: Blob;
  timings: Record<string, number>;
  /**
   * Set on the provisional analysis of a two-pass analysis (issue 12; request `provisional`): probs
   * is the mean over the first pass' windows (every other one and the last: they tile the file),
   * `windows` lists those only; the other windows are being classified, and the final result follows.
   */
  provisional?: { windowsDone: number; windowsTotal: number };
  /** Set on the final result after a provisional one: its `levels` are empty, the provisional's stand. */
  levelsInPartial?: boolean;
}

/** A typed prompt's tokens (unknown words are ignored) and its audio–prompt similarities. */
export interface PromptInfo {
  text: string;
  tokens: { word: string; known: boolean }[];
  /** cos(audio, prompt) of the original; of the masked-in / masked-out audio once the metrics ran (else null). */
  similarity: { original: number; maskedIn: number | null; maskedOut: number | null };
}

export interface ExplanationMsg {
  fileId: string;
  /** The class explained; -1 for a typed prompt (see `prompt`). */
  target: number;
  /** Set when a typed prompt was explained. */
  prompt?: PromptInfo;
  threshold: number | null;
  /** The explainer that made the mask (echoes the request; 'lmac' when not given). */
  explainer: ExplainerKind;
  /**
   * The mask [bins × frames] as 8-bit levels (value = level / 255; 0 or 255 when thresholded):
   * what the views and the PNG draw (issue 12: 115 MB for an hour instead of 462 MB as float32).
   */
  maskLevels: Uint8Array;
  /** The float mask (soft, or 0/1 when thresholded): files up to FLOAT_ARRAYS_MAX_S only. */
  mask?: Float32Array;
  maskMean: number;
  /** The explanation's and the residual's audio as 16-bit WAV files, with their waveform peaks. */
  audio: ExplanationAudio;
  /** The two signals as float32 (model rate, original length): files up to FLOAT_ARRAYS_MAX_S only. */
  maskedIn?: Float32Array;
  maskedOut?: Float32Array;
  /** Faithfulness metrics of the mask as shown (null when not requested). */
  metrics: ClipMetrics | null;
  /** Perturbation explainer only. */
  segments?: SegmentInfo;
  /** Latent explainer only: its settings and attribution (maskedIn / maskedOut are decoder outputs and do not sum to the original). */
  latent?: LatentInfo;
  timings: Record<string, number>;
  /** Set on a final result after a 'partial': its maskLevels / mask / audio / maskedIn / maskedOut are empty, the partial's stand. */
  arraysInPartial?: boolean;
  /**
   * Set on a 'focus' message only (progressive explanation of a long file): the mask and the
   * audio are final in [t0, t1) s (what is on screen / around the play head); elsewhere the mask
   * is partial (LMAC-TD: 0, and final only in the frames those samples determine) and the audio
   * silent. The rest of the file follows as the 'partial' / 'result'.
   */
  focus?: { t0: number; t1: number; windowsDone: number; windowsTotal: number };
  /**
   * The metrics cover only the windows overlapping the request's `metricsRange` (long files: what
   * is on screen, issue 12): those windows span [t0, t1) s; p is pooled over them too.
   */
  metricsRange?: { t0: number; t1: number; windows: number; windowsTotal: number };
}

/**
 * One live window (microphone, issue 12): class probabilities of the last ≤ windowSamples of
 * audio and the mask of a target (the top class unless given), without audio or metrics.
 */
export interface LiveMsg {
  probs: Float32Array;
  /** The class the mask explains. */
  target: number;
  /** [bins × frames] of the window; null when the bundle has no decoder. */
  mask: Float32Array | null;
  maskMean: number | null;
  /** |X| of the window [bins × frames] (for drawing). */
  magnitude: Float32Array;
  bins: number;
  frames: number;
  /** ms: stft, classifier, decoder, total (worker). */
  timings: Record<string, number>;
}

/** The latent explainer's result for one window (issue 15; src/worker/latentExplainer.ts). */
export interface LatentMsg {
  /** The class explained (the top class unless one was asked for). */
  target: number;
  method: 'gradxinput' | 'occlusion';
  baseline: string;
  beta: number;
  channels: number;
  groups: number;
  /** Seconds the cells' time groups span together (the window). */
  windowS: number;
  /** Attribution per (channel, time group) cell [channels × groups], channel-major. */
  scores: Float32Array;
  /** 1 where the cell is among the top-β kept. */
  keep: Uint8Array;
  /** Decoded audio at the bundle rate, as long as the window sent. */
  explanation: Float32Array;
  removed: Float32Array;
  /** Softmax of the latent classifier on the window, on the re-encoded explanation and removed audio. */
  probs: Float32Array;
  probsIn: Float32Array;
  probsOut: Float32Array;
  /** ms: attribution (absent when the window's attribution was reused), synthesis, metrics, total. */
  timings: Record<string, number>;
}

export type Request =
  | { type: 'init'; id: number; baseUrl: string; backend: BackendChoice }
  /** A bundle from memory (a folder or zip the user opened): relative path → bytes (transferred), manifest.json among them. */
  | { type: 'initFiles'; id: number; name: string; files: Record<string, ArrayBuffer>; backend: BackendChoice }
  /** The inputs/outputs an ONNX model declares (a throwaway session; the bytes are transferred). */
  | { type: 'inspect'; id: number; name: string; bytes: ArrayBuffer }
  | { type: 'setBackend'; id: number; backend: BackendChoice }
  | {
      type: 'analyze';
      id: number;
      fileId: string;
      name: string;
      /** Mono at the bundle's sample rate (transferred). */
      samples: Float32Array;
      sampleRate: number;
      /**
       * Files over 2 min (long files, with float16 hidden outputs): classify the
       * windows that tile the file first and post those classes as a 'partial' (AnalysisMsg.provisional)
       * before the other windows; explanations can be asked for meanwhile (issue 12).
       */
      provisional?: boolean;
    }
  | {
      type: 'explain';
      id: number;
      fileId: string;
      target: number;
      /** Zero-shot bundles: explain this typed prompt instead of `target` (L-MAC only). */
      prompt?: string;
      threshold: number | null;
      /** Default 'lmac'. */
      explainer?: ExplainerKind;
      perturbation?: PerturbationSettings;
      /** Explainer 'latent': β, attribution method, baseline. */
      latent?: LatentSettings;
      /** Compute the faithfulness metrics (default true). */
      metrics?: boolean;
      /** L-MAC and LMAC-TD: explain this time range (s) first and post it as a 'focus' message (long files). */
      focus?: { t0: number; t1: number };
      /** Compute the metrics on the windows overlapping this range (s) only (long files: what is on screen). */
      metricsRange?: { t0: number; t1: number };
    }
  /** Live window: mono at the bundle's rate, at most windowSamples (transferred); target null = top class. */
  | { type: 'live'; id: number; samples: Float32Array; target: number | null }
  /**
   * Latent explainer (bundles with a `latent` block): one window, mono at the bundle's rate, at most
   * windowSamples (transferred). `key` names the window (e.g. file id and start): the same key,
   * method and target reuse its attribution, so moving β reruns only the decoder.
   */
  | {
      type: 'latent';
      id: number;
      key: string;
      samples: Float32Array;
      beta: number;
      method?: 'gradxinput' | 'occlusion';
      /** A name in the manifest's latent.baselines (default: latent.baseline). */
      baseline?: string;
      target: number | null;
    }
  | { type: 'forget'; id: number; fileId: string }
  /** The page no longer plays these WAV files the worker wrote to disk (File names): remove them. */
  | { type: 'releaseAudio'; id: number; names: string[] }
  | { type: 'cancel'; id: number; target: number };

export type RequestType = Request['type'];

export interface ResultMap {
  init: BundleInfo;
  initFiles: BundleInfo;
  inspect: GraphMeta;
  setBackend: BundleInfo;
  analyze: AnalysisMsg;
  explain: ExplanationMsg;
  live: LiveMsg;
  latent: LatentMsg;
  forget: null;
  releaseAudio: null;
  cancel: null;
}

export interface SerializedError {
  name: string;
  message: string;
  /** Set for errors about a user's file (AudioLoadError). */
  fileName?: string;
}

export type Response =
  | { type: 'progress'; id: number; progress: Progress }
  /**
   * An explanation posted before its metrics are computed (the final 'result' then carries them),
   * or the provisional classes of a two-pass analysis (AnalysisMsg.provisional set).
   */
  | { type: 'partial'; id: number; result: ExplanationMsg | AnalysisMsg }
  /** The focused range of an explanation, before the rest of the file (ExplanationMsg.focus set). */
  | { type: 'focus'; id: number; result: ExplanationMsg }
  | { type: 'result'; id: number; result: ResultMap[RequestType] }
  | { type: 'error'; id: number; error: SerializedError };

/** Buffers of the typed arrays in a message, to pass as transferables (no duplicates). */
export function transferablesOf(...arrays: (ArrayBufferView | null | undefined)[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) if (a && a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  return [...out];
}
