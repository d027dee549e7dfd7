"""Export a fine-tuned decoder (finetune_decoder.py) into the esc50 bundle, leaving classifier.onnx as it is.

    /usr/bin/python3 models/train/export_finetuned.py --decoder models/train/runs/ft-lg8/final.pt [--out models/esc50]

export.py would re-export the classifier as well; this script exports only decoder.onnx (same
opset, names and dynamic batch as export.py), checks it with onnxruntime-node against PyTorch on
hidden outputs that the shipped classifier.onnx itself computes (≤ 1e-4), rewrites the parity
fixture models/fixtures/esc50-parity.{json,bin} (now with the decoder's sha256) and updates the
decoder entry of manifest.json (sha256, parameters, stage). The classifier is the one rebuilt
from classifier.onnx by from_onnx.py (identical in eval mode).
"""
import argparse
import json
import os

import numpy as np
import torch

from common import load_trained, write_fixture
from export import HIDDEN, OPSET, ROOT, run_onnx, sha256, test_signal
from frontend import FE, magnitude
from from_onnx import classifier_from_onnx
from model import DecoderConfig, MaskDecoder, count_params


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--decoder", required=True, help="final.pt of finetune_decoder.py")
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "esc50"))
    ap.add_argument("--fixture", default=os.path.join(ROOT, "models", "fixtures", "esc50-parity"))
    ap.add_argument("--stage", default="", help="a note for the manifest, e.g. 'guidance fine-tuned, lambda_g 8'")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    cls_file = os.path.join(args.out, "classifier.onnx")
    classifier = classifier_from_onnx(cls_file)
    decoder, st = load_trained(args.decoder, MaskDecoder, DecoderConfig)
    decoder.eval()

    mag = torch.rand(2, FE.freq_bins, FE.frames)
    with torch.no_grad():
        _, hidden = classifier(mag)
    dec_file = os.path.join(args.out, "decoder.onnx")
    torch.onnx.export(decoder, (*hidden, torch.tensor([0, 1], dtype=torch.int64)), dec_file, opset_version=OPSET,
                      input_names=HIDDEN + ["target"], output_names=["mask"],
                      dynamic_axes={**{h: {0: "batch"} for h in HIDDEN}, "target": {0: "batch"}, "mask": {0: "batch"}})
    decoder.eval()

    sig = torch.from_numpy(test_signal())
    rnd = torch.from_numpy(np.random.default_rng(1).standard_normal((2, FE.window_samples)).astype(np.float32) * 0.1)
    mag = magnitude(torch.cat([sig[None], rnd]))
    o_cls = run_onnx(cls_file, [("magnitude", mag.numpy())])
    with torch.no_grad():
        logits, hidden_pt = classifier(mag)
        target = torch.cat([logits[:1].argmax(1), torch.tensor([3, 17])])
        hidden = [torch.from_numpy(o_cls[h].copy()) for h in HIDDEN]  # the shipped classifier's own outputs
        mask = decoder(*hidden, target)
    o_dec = run_onnx(dec_file, [(h, t.numpy()) for h, t in zip(HIDDEN, hidden)] + [("target", target.numpy())])
    diffs = {"logits (rebuilt classifier vs classifier.onnx)": float(np.abs(o_cls["logits"] - logits.numpy()).max()),
             "mask": float(np.abs(o_dec["mask"] - mask.numpy()).max())}
    for h, t in zip(HIDDEN, hidden_pt):
        diffs[h] = float(np.abs(o_cls[h] - t.numpy()).max())
    print("ONNX vs PyTorch max abs diff:", json.dumps(diffs))
    bad = {k: v for k, v in diffs.items() if v > 1e-4}
    if bad:
        raise SystemExit(f"ONNX parity failed (> 1e-4): {bad}")

    arrays = [("signal", sig.numpy()), ("magnitude", mag[0].numpy()), ("logits", o_cls["logits"][0]),
              ("mask", mask[0].numpy())]
    dec_sha = sha256(dec_file)
    write_fixture(args.fixture, arrays, {"description": f"PyTorch reference for {os.path.relpath(args.out, ROOT)} on a generated test signal "
                              "(models/train/export.py test_signal); float32 little-endian arrays in the .bin. "
                              "Logits from classifier.onnx, mask from the PyTorch decoder "
                              "(models/train/export_finetuned.py)",
               "bundle": os.path.relpath(args.out, ROOT), "target": int(target[0]),
               "decoderSha256": dec_sha})

    mpath = os.path.join(args.out, "manifest.json")
    man = json.load(open(mpath))
    man["decoder"].update({"sha256": dec_sha, "parameters": count_params(decoder), "trained": True,
                           "stage": args.stage or f"guidance fine-tuned ({os.path.relpath(args.decoder, ROOT)})"})
    json.dump(man, open(mpath, "w"), indent=1)
    print(f"wrote {dec_file} ({os.path.getsize(dec_file)} B), {args.fixture}.json/.bin, {mpath}")


if __name__ == "__main__":
    main()
