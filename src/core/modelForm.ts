// A bare classifier .onnx (no manifest.json) becomes a one-model bundle through a short form. The
// graph says some of what the manifest needs (tensor names, fixed dims); the user says the rest
// (sample rate, labels...). Pure functions: graph metadata → suggested form values, form values →
// manifest JSON; the UI (src/ui/ModelForm.tsx) and the unit tests use them.
import type { InputKind } from './manifest';

/** ORT's `session.inputMetadata` / `outputMetadata` entry (onnxruntime-common ≥ 1.22). */
export interface TensorMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: (number | string)[];
}

export interface GraphMeta {
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

/** What the form edits; null = not known yet (the user must fill it). */
export interface ModelFormValues {
  name: string;
  /** The .onnx file's name inside the bundle. */
  file: string;
  sampleRate: number | null;
  inputKind: InputKind;
  input: string;
  logits: string;
  nFft: number | null;
  hopLength: number | null;
  windowSamples: number | null;
  /** Number of classes (logits size); labels default to "class 0…C−1". */
  classes: number | null;
  /** From a labels file; null = "class 0…C−1". */
  labels: string[] | null;
}

/** Suggested values plus which fields the graph fixes (the form shows them as read from the file). */
export interface FormSuggestion {
  values: ModelFormValues;
  /** Fields whose value comes from a fixed dimension of the graph, with a one-line why. */
  fromGraph: Partial<Record<keyof ModelFormValues, string>>;
  /** A magnitude input's fixed frame count T (the window follows the hop: (T−1)·hop), else null. */
  frames: number | null;
}

const isDim = (d: number | string | undefined): d is number => typeof d === 'number' && d > 0;
const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** A short bundle name from a file name ("my_model.onnx" → "my_model"). */
function baseName(file: string): string {
  return file.replace(/^.*[\\/]/, '').replace(/\.onnx$/i, '') || 'model';
}

/** A file name the manifest accepts (relative, no directories, no "..", no scheme). */
export function safeFileName(file: string): string {
  const b = file.replace(/^.*[\\/]/, '').replace(/\.\.+/g, '.').replace(/:/g, '_');
  return /\.onnx$/i.test(b) && b.length > 5 ? b : 'classifier.onnx';
}

/** Suggest form values from a classifier graph's metadata and its file name. */
export function suggestForm(meta: GraphMeta, fileName: string): FormSuggestion {
  const fromGraph: FormSuggestion['fromGraph'] = {};
  const floatTensors = (l: TensorMeta[]) => l.filter((t) => t.isTensor && (!t.type || t.type === 'float32'));
  // the classifier's input: a float tensor of rank 3 (magnitude) or 2 (waveform), else the first one
  const ins = floatTensors(meta.inputs);
  const input = ins.find((t) => t.shape?.length === 3) ?? ins.find((t) => t.shape?.length === 2) ?? meta.inputs[0];
  const rank = input?.shape?.length ?? 0;
  const inputKind: InputKind = rank === 2 || (rank !== 3 && /wave|audio|signal|pcm/i.test(input?.name ?? '')) ? 'waveform' : 'magnitude';
  // the logits: a float output of rank 2 ([B, C]); prefer one named like logits
  const outs = floatTensors(meta.outputs);
  const rank2 = outs.filter((t) => t.shape?.length === 2);
  const logitsT = rank2.find((t) => /logit|score|output/i.test(t.name)) ?? rank2[0] ?? outs[0] ?? meta.outputs[0];

  let nFft: number | null = null;
  let hopLength: number | null = null;
  let windowSamples: number | null = null;
  let frames: number | null = null;
  if (inputKind === 'magnitude') {
    const F = input?.shape?.[1];
    const T = input?.shape?.[2];
    if (isDim(F) && F > 1 && isPow2(2 * (F - 1))) {
      nFft = 2 * (F - 1);
      fromGraph.nFft = `input "${input!.name}" has ${F} frequency bins → nFft = 2·(${F}−1)`;
    }
    // a quarter of the FFT size is the usual hop; the user can change it
    if (nFft) hopLength = nFft / 4;
    if (isDim(T)) frames = T;
    if (isDim(T) && hopLength) {
      windowSamples = (T - 1) * hopLength;
      fromGraph.windowSamples = `input "${input!.name}" has ${T} frames → window = (${T}−1)·hop`;
    }
  } else {
    const N = input?.shape?.[1];
    if (isDim(N)) {
      windowSamples = N;
      fromGraph.windowSamples = `input "${input!.name}" takes ${N} samples`;
    }
    // for the spectrogram display and the masks only: a waveform model does not fix them
    nFft = 512;
    hopLength = 128;
  }
  const C = logitsT?.shape?.length === 2 ? logitsT.shape[1] : undefined;
  const classes = isDim(C) ? C : null;
  if (classes) fromGraph.classes = `output "${logitsT!.name}" has ${classes} values per item`;
  if (input) fromGraph.input = `the graph's ${rank ? `rank-${rank} ` : ''}input`;
  if (logitsT) fromGraph.logits = `the graph's ${logitsT.shape?.length === 2 ? '[batch, classes] ' : ''}output`;
  return {
    values: {
      name: baseName(fileName),
      file: safeFileName(fileName),
      sampleRate: null,
      inputKind,
      input: input?.name ?? '',
      logits: logitsT?.name ?? '',
      nFft,
      hopLength,
      windowSamples,
      classes,
      labels: null,
    },
    fromGraph,
    frames,
  };
}

/** Labels from a `.txt` (one per line, blank lines ignored) or `.json` (array of names, or object whose keys are the names) file; throws naming the file. */
export function parseLabelsFile(fileName: string, text: string): string[] {
  let labels: unknown;
  if (/\.json$/i.test(fileName)) {
    try {
      labels = JSON.parse(text);
    } catch (e) {
      throw new Error(`${fileName}: not valid JSON (${(e as Error).message})`);
    }
    // an object label → description (e.g. a bundle's labelDescriptions) gives its keys, in order
    if (labels && typeof labels === 'object' && !Array.isArray(labels)) labels = Object.keys(labels);
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string' || typeof l === 'number'))
      throw new Error(`${fileName}: must be a JSON array of label names (or an object whose keys are the labels)`);
    labels = (labels as (string | number)[]).map((l) => String(l).trim());
  } else {
    labels = text
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
  }
  const out = labels as string[];
  if (out.length === 0) throw new Error(`${fileName}: has no labels`);
  if (out.some((l) => l.length === 0)) throw new Error(`${fileName}: has an empty label`);
  return out;
}

/** The problems of some form values, one message per field (empty when the manifest can be made). */
export function formErrors(v: ModelFormValues): Partial<Record<keyof ModelFormValues, string>> {
  const e: Partial<Record<keyof ModelFormValues, string>> = {};
  const posInt = (n: number | null) => n !== null && Number.isInteger(n) && n > 0;
  if (!v.name.trim()) e.name = 'give the model a name';
  if (!posInt(v.sampleRate)) e.sampleRate = 'the sample rate the model was trained at (Hz), e.g. 16000';
  if (!v.input.trim()) e.input = 'the input tensor name';
  if (!v.logits.trim()) e.logits = 'the logits output name';
  if (!posInt(v.nFft) || !isPow2(v.nFft!)) e.nFft = 'a power of two, e.g. 512';
  if (!posInt(v.hopLength)) e.hopLength = 'a positive number of samples';
  else if (posInt(v.nFft) && v.hopLength! > v.nFft!) e.hopLength = `at most nFft (${v.nFft})`;
  if (!posInt(v.windowSamples)) e.windowSamples = 'the model window in samples';
  else if (posInt(v.nFft) && v.windowSamples! < v.nFft!) e.windowSamples = `at least nFft (${v.nFft})`;
  if (v.labels === null && !posInt(v.classes)) e.classes = 'the number of classes (or open a labels file)';
  if (v.labels !== null && posInt(v.classes) && v.labels.length !== v.classes)
    e.labels = `the labels file has ${v.labels.length} labels but the model gives ${v.classes} logits`;
  return e;
}

/** The labels the manifest gets: the labels file's, or "class 0" … "class C−1". */
export function formLabels(v: ModelFormValues): string[] {
  return v.labels ?? Array.from({ length: v.classes ?? 0 }, (_, i) => `class ${i}`);
}

/** A `lmac-bundle/1` manifest (plain JSON) for a classifier-only bundle made from the form; `sha256` of the .onnx bytes. */
export function formToManifest(v: ModelFormValues, sha256: string): Record<string, unknown> {
  const errors = Object.values(formErrors(v));
  if (errors.length) throw new Error(`the form is incomplete: ${errors.join('; ')}`);
  return {
    format: 'lmac-bundle/1',
    name: v.name.trim(),
    description: `Opened from ${v.file} (no manifest; made with the form)`,
    license: '',
    sampleRate: v.sampleRate,
    windowSamples: v.windowSamples,
    stft: { nFft: v.nFft, winLength: v.nFft, hopLength: v.hopLength, window: 'hann-periodic', center: true, padMode: 'reflect' },
    labels: formLabels(v),
    classifier: { file: v.file, sha256, inputKind: v.inputKind, input: v.input.trim(), logits: v.logits.trim(), hidden: [] },
  };
}
