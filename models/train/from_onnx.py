"""PyTorch modules rebuilt from the shipped ONNX files (models/esc50/*.onnx).

    /usr/bin/python3 models/train/from_onnx.py      # writes runs/classifier/final.pt, runs/decoder-stage1/final.pt
    /usr/bin/python3 models/train/from_onnx.py models/esc50-guided decoder-guided   # + runs/decoder-guided/final.pt

With a bundle folder and a stage name, the decoder is rebuilt from that bundle's decoder.onnx (same
architecture as models/esc50's, e.g. the fine-tuned models/esc50-guided) and written as that stage,
so finetune_decoder.py --init=<stage> can continue from a shipped decoder.

The stage-1 PyTorch checkpoints (runs/classifier, runs/decoder) are not in git and were not on this
machine; the ONNX graphs are. torch.onnx.export folds every BatchNorm that follows a Conv into the
Conv's weight and bias (initialisers named onnx::Conv_*, in graph order); the other parameters keep
their PyTorch names. So each Conv gets the folded weight and bias, and its BatchNorm becomes the
identity in eval mode (mean 0, var 1 − eps, weight 1, bias 0). The rebuilt modules are exact in eval
mode (checked against onnxruntime-node here, ≤ 1e-4); the decoder's BatchNorms must stay in eval
mode when it is fine-tuned (finetune_decoder.py does this).
"""
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from common import cli_help, RUNS
from model import Classifier, ClassifierConfig, DecoderConfig, MaskDecoder

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUNDLE = os.path.join(ROOT, "models", "esc50")


def _inits(path):
    m = onnx.load(path)
    return [(i.name, torch.from_numpy(numpy_helper.to_array(i).copy())) for i in m.graph.initializer]


def _identity_bn(bn):
    bn.running_mean.zero_()
    bn.running_var.fill_(1.0 - bn.eps)
    bn.weight.data.fill_(1.0)
    bn.bias.data.zero_()


def _load(module, inits, conv_bn, prefix=""):
    """Named initialisers by name; the onnx::Conv_* ones in order onto conv_bn [(conv, bn)]."""
    sd = module.state_dict()
    folded = [t for n, t in inits if n.startswith("onnx::Conv_")]
    assert len(folded) == 2 * len(conv_bn), (len(folded), len(conv_bn))
    with torch.no_grad():
        for n, t in inits:
            if n.startswith("onnx::"):
                continue
            k = n[len(prefix):] if n.startswith(prefix) else n
            assert k in sd and sd[k].shape == t.shape, (n, k)
            sd[k].copy_(t)
        for (conv, bn), w, b in zip(conv_bn, folded[0::2], folded[1::2]):
            assert conv.weight.shape == w.shape, (conv.weight.shape, w.shape)
            conv.weight.copy_(w)
            if conv.bias is not None:
                conv.bias.zero_()
            _identity_bn(bn)
            bn.bias.copy_(b)  # conv without bias + BN(identity, bias b) = folded conv
    return module


def classifier_from_onnx(path=os.path.join(BUNDLE, "classifier.onnx")) -> Classifier:
    c = Classifier(ClassifierConfig())
    pairs = [(p, q) for blk in c.blocks for p, q in ((blk.conv1, blk.bn1), (blk.conv2, blk.bn2))]
    return _load(c, _inits(path), pairs, prefix="c.").eval()


def decoder_from_onnx(path=os.path.join(BUNDLE, "decoder.onnx")) -> MaskDecoder:
    d = MaskDecoder(DecoderConfig())
    pairs = [(p, q) for st in (d.up3, d.up2, d.up1, d.up0) for p, q in ((st.conv1, st.bn1), (st.conv2, st.bn2))]
    return _load(d, _inits(path), pairs).eval()


def main(bundle=BUNDLE, decoder_stage="decoder-stage1"):
    from dataclasses import asdict
    from export import run_onnx, test_signal, HIDDEN
    from frontend import magnitude
    c, d = classifier_from_onnx(), decoder_from_onnx(os.path.join(bundle, "decoder.onnx"))
    sig = torch.from_numpy(test_signal())
    rnd = torch.from_numpy(np.random.default_rng(1).standard_normal((2, 80000)).astype(np.float32) * 0.1)
    mag = magnitude(torch.cat([sig[None], rnd]))
    with torch.no_grad():
        logits, hidden = c(mag)
        target = torch.cat([logits[:1].argmax(1), torch.tensor([3, 17])])
        mask = d(*hidden, target)
    o_cls = run_onnx(os.path.join(BUNDLE, "classifier.onnx"), [("magnitude", mag.numpy())])
    o_dec = run_onnx(os.path.join(bundle, "decoder.onnx"),
                     [(h, t.numpy()) for h, t in zip(HIDDEN, hidden)] + [("target", target.numpy())])
    diffs = {"logits": float(np.abs(o_cls["logits"] - logits.numpy()).max()),
             "mask": float(np.abs(o_dec["mask"] - mask.numpy()).max())}
    print("rebuilt vs ONNX max abs diff:", diffs)
    assert max(diffs.values()) <= 1e-4, diffs
    for stage, m in (("classifier", c), (decoder_stage, d)):
        os.makedirs(os.path.join(RUNS, stage), exist_ok=True)
        out = os.path.join(RUNS, stage, "final.pt")
        torch.save({"model": m.state_dict(), "model_config": asdict(m.cfg), "wall": None,
                    "config": {"source": f"rebuilt from {os.path.relpath(bundle, ROOT)} ONNX by from_onnx.py"}}, out)
        print("wrote", out)


if __name__ == "__main__":
    cli_help(__doc__)
    torch.set_num_threads(1)
    if len(sys.argv) not in (1, 3):
        sys.exit("usage: from_onnx.py [BUNDLE_DIR STAGE_NAME]  (see --help)")
    main(*( [os.path.abspath(sys.argv[1]), sys.argv[2]] if len(sys.argv) == 3 else []))
