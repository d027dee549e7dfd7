"""PyTorch modules rebuilt from the shipped ONNX files (models/esc50/*.onnx).

    /usr/bin/python3 models/train/from_onnx.py      # writes runs/classifier/final.pt, runs/decoder-stage1/final.pt
    /usr/bin/python3 models/train/from_onnx.py models/esc50 decoder-default   # + runs/decoder-default/final.pt
    /usr/bin/python3 models/train/from_onnx.py --zs [BUNDLE [STAGE]]   # runs/zs_encoder/final.pt, runs/zs_decoder-default/final.pt

The classifier comes from models/esc50; the stage-1 decoder from models/esc50-stage1 (since session
24 models/esc50 ships the fine-tuned decoder). With a bundle folder and a stage name, the decoder is
rebuilt from that bundle's decoder.onnx (same architecture, e.g. the fine-tuned default models/esc50)
and written as that stage, so finetune_decoder.py --init=<stage> can continue from a shipped decoder.

The stage-1 PyTorch checkpoints (runs/classifier, runs/decoder) are not in git and were not on this
machine; the ONNX graphs are. torch.onnx.export folds every BatchNorm that follows a Conv into the
Conv's weight and bias (initialisers named onnx::Conv_*, in graph order); the other parameters keep
their PyTorch names. So each Conv gets the folded weight and bias, and its BatchNorm becomes the
identity in eval mode (mean 0, var 1 − eps, weight 1, bias 0). The rebuilt modules are exact in eval
mode (checked against onnxruntime-node here, ≤ 1e-4); the decoder's BatchNorms must stay in eval
mode when it is fine-tuned (finetune_decoder.py does this).

--zs: the zero-shot bundle (default models/esc50-zs): the audio–text model (AudioTextModel: the audio
encoder from audio_encoder.onnx, the text projector from text_projector.onnx) as runs/zs_encoder and
the LMAC-ZS decoder (PromptMaskDecoder, its gate τ, κ from the manifest) as runs/<STAGE> (default
zs_decoder-default: the shipped decoder, since session 24 the fine-tuned zs-ft1; runs/zs_decoder-stage1
on this machine is the session-23 decoder rebuilt before that), checked against onnxruntime-node the same way (logits, embedding, text, mask).
The zero-shot training checkpoints (runs/zs_encoder, runs/zs_decoder) are not in git either.
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from common import cli_help, RUNS
from model import (AudioTextConfig, AudioTextModel, Classifier, ClassifierConfig, DecoderConfig, MaskDecoder,
                   PromptDecoderConfig, PromptMaskDecoder)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUNDLE = os.path.join(ROOT, "models", "esc50")
STAGE1_BUNDLE = os.path.join(ROOT, "models", "esc50-stage1")


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


def _decoder_pairs(d):
    return [(p, q) for st in (d.up3, d.up2, d.up1, d.up0) for p, q in ((st.conv1, st.bn1), (st.conv2, st.bn2))]


def decoder_from_onnx(path=os.path.join(BUNDLE, "decoder.onnx")) -> MaskDecoder:
    d = MaskDecoder(DecoderConfig())
    return _load(d, _inits(path), _decoder_pairs(d)).eval()


ZS_BUNDLE = os.path.join(ROOT, "models", "esc50-zs")


def audio_text_from_onnx(bundle=ZS_BUNDLE) -> AudioTextModel:
    """The zero-shot audio–text model: audio encoder (BN folded as above) + text projector."""
    m = AudioTextModel(AudioTextConfig())
    pairs = [(p, q) for blk in m.audio.blocks for p, q in ((blk.conv1, blk.bn1), (blk.conv2, blk.bn2))]
    # the encoder graph's label-prompt matrix (onnx::MatMul_*) is no parameter: skipped by _load
    _load(m, _inits(os.path.join(bundle, "audio_encoder.onnx")), pairs, prefix="model.")
    return _load(m, _inits(os.path.join(bundle, "text_projector.onnx")), []).eval()


def prompt_decoder_from_onnx(bundle=ZS_BUNDLE) -> PromptMaskDecoder:
    """The LMAC-ZS decoder of a zero-shot bundle, its similarity gate from the bundle's manifest."""
    gate = json.load(open(os.path.join(bundle, "manifest.json")))["decoder"]["gate"]
    d = PromptMaskDecoder(PromptDecoderConfig(gate_tau=gate["tau"], gate_kappa=gate["kappa"]))
    return _load(d, _inits(os.path.join(bundle, "decoder.onnx")), _decoder_pairs(d)).eval()


def _save_stage(stage, m, source):
    from dataclasses import asdict
    os.makedirs(os.path.join(RUNS, stage), exist_ok=True)
    out = os.path.join(RUNS, stage, "final.pt")
    torch.save({"model": m.state_dict(), "model_config": asdict(m.cfg), "wall": None,
                "config": {"source": f"rebuilt from {os.path.relpath(source, ROOT)} ONNX by from_onnx.py"}}, out)
    print("wrote", out)


def main_zs(bundle=ZS_BUNDLE, decoder_stage="zs_decoder-default"):
    """Rebuild, check against onnxruntime-node (≤ 1e-4) and save the zero-shot stages."""
    from export import run_onnx, test_signal, HIDDEN
    from export_zs import FIXTURE_PROMPTS, AudioEncoderOnnx
    from captions import Vocab, class_prompt
    from frontend import magnitude
    m, d = audio_text_from_onnx(bundle), prompt_decoder_from_onnx(bundle)
    vocab = Vocab(bundle)
    labels = json.load(open(os.path.join(bundle, "manifest.json")))["labels"]
    sig = torch.from_numpy(test_signal())
    rnd = torch.from_numpy(np.random.default_rng(1).standard_normal((2, 80000)).astype(np.float32) * 0.1)
    mag = magnitude(torch.cat([sig[None], rnd]))
    pooled = torch.from_numpy(np.stack([vocab.pool(p) for p in FIXTURE_PROMPTS[:3]]))
    with torch.no_grad():
        label_emb = m.text(torch.from_numpy(np.stack([vocab.pool(class_prompt(l)) for l in labels])))
        logits, z, *hidden = AudioEncoderOnnx(m, label_emb).eval()(mag)
        temb = m.text(pooled)
        mask = d(*hidden, temb)
    o_enc = run_onnx(os.path.join(bundle, "audio_encoder.onnx"), [("magnitude", mag.numpy())])
    o_txt = run_onnx(os.path.join(bundle, "text_projector.onnx"), [("pooled", pooled.numpy())])
    o_dec = run_onnx(os.path.join(bundle, "decoder.onnx"),
                     [(h, t.numpy()) for h, t in zip(HIDDEN, hidden)] + [("text", temb.numpy())])
    diffs = {"logits": float(np.abs(o_enc["logits"] - logits.numpy()).max()),
             "embedding": float(np.abs(o_enc["embedding"] - z.numpy()).max()),
             "h4": float(np.abs(o_enc["h4"] - hidden[3].numpy()).max()),
             "text": float(np.abs(o_txt["embedding"] - temb.numpy()).max()),
             "mask": float(np.abs(o_dec["mask"] - mask.numpy()).max())}
    print("rebuilt vs ONNX max abs diff:", diffs)
    assert max(diffs.values()) <= 1e-4, diffs
    _save_stage("zs_encoder", m, bundle)
    _save_stage(decoder_stage, d, bundle)


def main(bundle=STAGE1_BUNDLE, decoder_stage="decoder-stage1"):
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
    _save_stage("classifier", c, BUNDLE)
    _save_stage(decoder_stage, d, bundle)


if __name__ == "__main__":
    cli_help(__doc__)
    torch.set_num_threads(1)
    if sys.argv[1:2] == ["--zs"]:
        if len(sys.argv) > 4:
            sys.exit("usage: from_onnx.py --zs [BUNDLE_DIR [STAGE_NAME]]  (see --help)")
        main_zs(*([os.path.abspath(sys.argv[2])] if len(sys.argv) > 2 else []), *sys.argv[3:4])
        sys.exit(0)
    if len(sys.argv) not in (1, 3):
        sys.exit("usage: from_onnx.py [BUNDLE_DIR STAGE_NAME] | --zs [BUNDLE_DIR [STAGE_NAME]]  (see --help)")
    main(*( [os.path.abspath(sys.argv[1]), sys.argv[2]] if len(sys.argv) == 3 else []))
