"""Export a fine-tuned LMAC-ZS decoder (finetune_zs_decoder.py) as a zero-shot bundle's decoder.onnx:
the base bundle's audio encoder, text projector and vocabulary stay as they are.

    /usr/bin/python3 models/train/export_zs_finetuned.py --decoder models/train/runs/zs-ft1/ckpt.pt
        (--out DIR | --into-base) [--base models/esc50-zs] [--stage "note for the manifest"]
        [--fixture models/fixtures/esc50-zs-parity] [--name NAME]

--out DIR: a new bundle folder (the base's encoder, text projector and vocabulary copied; --out must not be
the base). --into-base: the same export into a temporary folder, and only when every check passed its
decoder.onnx and manifest.json replace the base's (how models/esc50-zs gets a fine-tuned decoder).
export_zs.py would re-export the audio–text model too; this script exports only decoder.onnx (same opset,
input/output names and dynamic batch as export_zs.py) and checks it with onnxruntime-node against PyTorch on
hidden outputs that the base bundle's audio_encoder.onnx itself computes and text embeddings from its
text_projector.onnx (≤ 1e-4). The manifest is the base's with the decoder entry updated (sha256, parameters,
stage) and the decoder-dependent results dropped (the prompt accuracies stay: same encoder; evaluate_zs.py
re-measures the rest). --fixture PATH: also export_zs.py's parity check and fixture (export_zs.parity and
write_parity_fixture, with the PyTorch audio–text model of --encoder): the TypeScript tests read
models/fixtures/esc50-zs-parity for models/esc50-zs, so use it with --into-base.
"""
import argparse
import json
import os
import shutil
import tempfile

import numpy as np
import torch

from captions import Vocab
from common import load_trained, stage_weights
from export import HIDDEN, OPSET, ROOT, run_onnx, sha256, test_signal
from export_zs import FIXTURE_PROMPTS, AudioEncoderOnnx, label_embeddings, parity, write_parity_fixture
from frontend import FE, magnitude
from model import AudioTextConfig, AudioTextModel, PromptDecoderConfig, PromptMaskDecoder, count_params

COPIED = ["audio_encoder.onnx", "text_projector.onnx", "vocab.txt", "vocab.bin"]
REPLACED = ["decoder.onnx", "manifest.json"]  # what --into-base moves into the base folder
DECODER_RESULTS = ("maskMeanOwnPrompt", "maskMeanUnrelatedPrompt")


def export_decoder(decoder: PromptMaskDecoder, out: str) -> float:
    """decoder.onnx in out, run by onnxruntime-node on out's own encoder and text projector outputs;
    returns the max abs mask difference to PyTorch."""
    sig = torch.from_numpy(test_signal())
    rnd = torch.from_numpy(np.random.default_rng(1).standard_normal((2, FE.window_samples)).astype(np.float32) * 0.1)
    mag = magnitude(torch.cat([sig[None], rnd]))
    o_enc = run_onnx(os.path.join(out, "audio_encoder.onnx"), [("magnitude", mag.numpy())])
    pooled = np.stack([Vocab(out).pool(p) for p in FIXTURE_PROMPTS[:3]])
    o_txt = run_onnx(os.path.join(out, "text_projector.onnx"), [("pooled", pooled)])
    hidden = [torch.from_numpy(o_enc[h].copy()) for h in HIDDEN]  # the shipped encoder's own outputs
    text = torch.from_numpy(o_txt["embedding"].copy())
    dec_file = os.path.join(out, "decoder.onnx")
    torch.onnx.export(decoder, (*hidden, text), dec_file, opset_version=OPSET, input_names=HIDDEN + ["text"],
                      output_names=["mask"],
                      dynamic_axes={**{h: {0: "batch"} for h in HIDDEN}, "text": {0: "batch"}, "mask": {0: "batch"}})
    decoder.eval()
    with torch.no_grad():
        mask = decoder(*hidden, text)
    o_dec = run_onnx(dec_file, [(h, t.numpy()) for h, t in zip(HIDDEN, hidden)] + [("text", text.numpy())])
    return float(np.abs(o_dec["mask"] - mask.numpy()).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--decoder", required=True, help="final.pt or ckpt.pt of finetune_zs_decoder.py")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="a new bundle folder")
    where.add_argument("--into-base", action="store_true", help="replace the base's decoder.onnx and manifest.json")
    ap.add_argument("--base", default=os.path.join(ROOT, "models", "esc50-zs"))
    ap.add_argument("--name", default=None, help="the manifest's name (default: the output folder's name)")
    ap.add_argument("--stage", default="", help="a note for the manifest's decoder entry")
    ap.add_argument("--fixture", default=None, help="write the parity fixture here (e.g. models/fixtures/esc50-zs-parity)")
    ap.add_argument("--encoder", default=stage_weights("zs_encoder"), help="the audio–text model for --fixture")
    args = ap.parse_args()
    if args.out and os.path.realpath(args.out) == os.path.realpath(args.base):
        raise SystemExit("--out is the base bundle: use --into-base to replace its decoder")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out = tempfile.mkdtemp(prefix="zs-export-") if args.into_base else args.out
    os.makedirs(out, exist_ok=True)
    for f in COPIED:
        shutil.copyfile(os.path.join(args.base, f), os.path.join(out, f))
    decoder, st = load_trained(args.decoder, PromptMaskDecoder, PromptDecoderConfig)
    base_man = json.load(open(os.path.join(args.base, "manifest.json")))
    gate = base_man["decoder"]["gate"]
    if abs(decoder.cfg.gate_tau - gate["tau"]) > 1e-6 or abs(decoder.cfg.gate_kappa - gate["kappa"]) > 1e-6:
        raise SystemExit(f"the decoder's gate ({decoder.cfg.gate_tau}, {decoder.cfg.gate_kappa}) is not the base bundle's {gate}")

    diff = export_decoder(decoder, out)
    print("ONNX vs PyTorch max abs diff (on the bundle's encoder outputs): mask", diff)
    if diff > 1e-4:
        raise SystemExit(f"ONNX parity failed (> 1e-4): mask {diff}")
    if args.fixture:
        model, _ = load_trained(args.encoder, AudioTextModel, AudioTextConfig)
        labels = base_man["labels"]
        vocab = Vocab(out)
        enc = AudioEncoderOnnx(model, label_embeddings(model, vocab, labels)).eval()
        diffs, arrays = parity(enc, model, decoder, vocab, out)
        print("ONNX vs PyTorch max abs diff (export_zs.parity):", json.dumps(diffs))
        bad = {k: v for k, v in diffs.items() if v > 1e-4}
        if bad:
            raise SystemExit(f"ONNX parity failed (> 1e-4): {bad} (is --encoder the base bundle's audio–text model?)")

    dec_file = os.path.join(out, "decoder.onnx")
    step = f", step {st['step']}" if "step" in st else ""
    man = dict(base_man)
    man["name"] = args.name or os.path.basename(os.path.normpath(args.base if args.into_base else out))
    man["decoder"] = {**base_man["decoder"], "sha256": sha256(dec_file), "parameters": count_params(decoder),
                      "trained": True,
                      "stage": args.stage or f"guidance fine-tuned ({os.path.relpath(args.decoder, ROOT)}{step})"}
    man["results"] = {k: v for k, v in base_man.get("results", {}).items() if k not in DECODER_RESULTS}
    json.dump(man, open(os.path.join(out, "manifest.json"), "w"), indent=1)
    if args.fixture:  # only after every check passed, like the files below
        write_parity_fixture(args.fixture, arrays, vocab,
                             f"models/train/export_zs_finetuned.py --decoder {os.path.relpath(args.decoder, ROOT)}")
        print(f"wrote {args.fixture}.{{json,bin}}")
    if args.into_base:
        for f in REPLACED:
            shutil.move(os.path.join(out, f), os.path.join(args.base, f))
        shutil.rmtree(out)
        print(f"replaced {', '.join(REPLACED)} in {args.base}: decoder.onnx {os.path.getsize(os.path.join(args.base, 'decoder.onnx'))} B")
    else:
        print(f"wrote {out}: decoder.onnx {os.path.getsize(dec_file)} B (+ {', '.join(COPIED)} from {args.base})")


if __name__ == "__main__":
    main()
