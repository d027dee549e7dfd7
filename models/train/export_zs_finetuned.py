"""Export a fine-tuned LMAC-ZS decoder (finetune_zs_decoder.py) into a new zero-shot bundle folder:
the base bundle's audio encoder, text projector and vocabulary copied as they are, decoder.onnx new.

    /usr/bin/python3 models/train/export_zs_finetuned.py --decoder models/train/runs/zs-ft2/final.pt --out DIR
        [--base models/esc50-zs] [--stage "note for the manifest"]

export_zs.py would re-export the audio–text model and write into models/esc50-zs itself; this script
exports only decoder.onnx (same opset, input/output names and dynamic batch as export_zs.py) and checks
it with onnxruntime-node against PyTorch on hidden outputs that the base bundle's audio_encoder.onnx
itself computes and text embeddings from its text_projector.onnx (≤ 1e-4). The manifest is the base's
with the decoder entry updated (sha256, parameters, stage) and the decoder-dependent results dropped
(the prompt accuracies stay: same encoder). It writes no parity fixture: the TypeScript tests read
models/fixtures/esc50-zs-parity for models/esc50-zs only. --out must not be the base folder.
"""
import argparse
import json
import os
import shutil

import numpy as np
import torch

from captions import Vocab
from common import load_trained
from export import HIDDEN, OPSET, ROOT, run_onnx, sha256, test_signal
from export_zs import FIXTURE_PROMPTS
from frontend import FE, magnitude
from model import PromptDecoderConfig, PromptMaskDecoder, count_params

COPIED = ["audio_encoder.onnx", "text_projector.onnx", "vocab.txt", "vocab.bin"]
DECODER_RESULTS = ("maskMeanOwnPrompt", "maskMeanUnrelatedPrompt")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--decoder", required=True, help="final.pt of finetune_zs_decoder.py")
    ap.add_argument("--out", required=True, help="the new bundle folder")
    ap.add_argument("--base", default=os.path.join(ROOT, "models", "esc50-zs"))
    ap.add_argument("--stage", default="", help="a note for the manifest's decoder entry")
    args = ap.parse_args()
    if os.path.realpath(args.out) == os.path.realpath(args.base):
        raise SystemExit("--out is the base bundle: export_zs_finetuned.py writes a new folder only")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    for f in COPIED:
        shutil.copyfile(os.path.join(args.base, f), os.path.join(args.out, f))
    decoder, _ = load_trained(args.decoder, PromptMaskDecoder, PromptDecoderConfig)
    base_man = json.load(open(os.path.join(args.base, "manifest.json")))
    gate = base_man["decoder"]["gate"]
    if abs(decoder.cfg.gate_tau - gate["tau"]) > 1e-6 or abs(decoder.cfg.gate_kappa - gate["kappa"]) > 1e-6:
        raise SystemExit(f"the decoder's gate ({decoder.cfg.gate_tau}, {decoder.cfg.gate_kappa}) is not the base bundle's {gate}")

    sig = torch.from_numpy(test_signal())
    rnd = torch.from_numpy(np.random.default_rng(1).standard_normal((2, FE.window_samples)).astype(np.float32) * 0.1)
    mag = magnitude(torch.cat([sig[None], rnd]))
    o_enc = run_onnx(os.path.join(args.out, "audio_encoder.onnx"), [("magnitude", mag.numpy())])
    pooled = np.stack([Vocab(args.out).pool(p) for p in FIXTURE_PROMPTS[:3]])
    o_txt = run_onnx(os.path.join(args.out, "text_projector.onnx"), [("pooled", pooled)])
    hidden = [torch.from_numpy(o_enc[h].copy()) for h in HIDDEN]  # the shipped encoder's own outputs
    text = torch.from_numpy(o_txt["embedding"].copy())
    dec_file = os.path.join(args.out, "decoder.onnx")
    torch.onnx.export(decoder, (*hidden, text), dec_file, opset_version=OPSET, input_names=HIDDEN + ["text"],
                      output_names=["mask"],
                      dynamic_axes={**{h: {0: "batch"} for h in HIDDEN}, "text": {0: "batch"}, "mask": {0: "batch"}})
    decoder.eval()
    with torch.no_grad():
        mask = decoder(*hidden, text)
    o_dec = run_onnx(dec_file, [(h, t.numpy()) for h, t in zip(HIDDEN, hidden)] + [("text", text.numpy())])
    diff = float(np.abs(o_dec["mask"] - mask.numpy()).max())
    print("ONNX vs PyTorch max abs diff: mask", diff)
    if diff > 1e-4:
        raise SystemExit(f"ONNX parity failed (> 1e-4): mask {diff}")

    man = dict(base_man)
    man["name"] = os.path.basename(os.path.normpath(args.out))
    man["decoder"] = {**base_man["decoder"], "sha256": sha256(dec_file), "parameters": count_params(decoder),
                      "trained": True,
                      "stage": args.stage or f"guidance fine-tuned ({os.path.relpath(args.decoder, ROOT)})"}
    man["results"] = {k: v for k, v in base_man.get("results", {}).items() if k not in DECODER_RESULTS}
    json.dump(man, open(os.path.join(args.out, "manifest.json"), "w"), indent=1)
    print(f"wrote {args.out}: decoder.onnx {os.path.getsize(dec_file)} B (+ {', '.join(COPIED)} from {args.base})")


if __name__ == "__main__":
    main()
