"""Trains Glimpse's demo VLM (issue 7) on the synthetic benchmark, in two stages, and saves it as a
Hugging Face LlavaForConditionalGeneration folder that transformers and Glimpse both load.

  (a) ViT: a CLIP vision tower with a CLS token, trained from scratch on supervised targets read
      from the CLS token (post_layernorm, as CLIP's pooler): which shapes, colours and
      colour-shape pairs are present, each pair's 3x3 cell, the object count and the count per
      shape and per colour. So the CLS token must gather the objects, which is what makes its
      attention a meaningful importance score (VTC-CLS). An auxiliary per-patch head on the layer
      LLaVA reads (-2) predicts the shape and colour under each patch, so the patch tokens the
      decoder sees say what they show.
  (b) LLaVA: that tower frozen (its CLS attention stays what stage (a) made it; its layer -2
      features are computed once), an mlp2x_gelu projector with bias and a small Llama decoder
      trained from scratch on the benchmark's questions over images and clips (a clip = its 16
      frames, each an image placeholder, as the Java runtime feeds plain LLaVA), in the LLaVA-1.5
      chat format the runtime renders ("USER: <image>\\n... QUESTION ASSISTANT:"), no prompt
      suffix, loss on the answer tokens and </s> only: the model answers in one word, then stops.

Input: a TrainingDataExport folder (train-images, train-clips, validation-images) and a folder of
validation clips exported as mp4 by `glimpse eval synth-export`. Output: OUT/glimpse-demo (bf16).
Every number printed is accuracy of greedy answers (teacher-forced argmax over the answer and
</s>, which equals greedy decoding's exact match), unless it says otherwise.

  python3 tools/train/train_demo.py --preset device --data train-data/work --val-clips train-data/validation-clips --out OUT
"""

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_model  # noqa: E402
import synth_data  # noqa: E402
from transformers import CLIPVisionModel, LlavaForConditionalGeneration, LlavaProcessor  # noqa: E402

PRESETS = {
    # the demo model: about 6 minutes on one H200 (run 1, vit_epochs=16: 308 s wall with the export)
    "device": dict(images=50000, clips=3000, val_images=1000, vocab=600,
                   image=224, patch=16, vit_hidden=256, vit_layers=6, vit_heads=8,
                   vit_epochs=60, vit_batch=256, vit_lr=1e-3, vit_patch_loss=1.0, vit_share=0.5,
                   llm_hidden=320, llm_ffn=864, llm_layers=4, llm_heads=5, llm_kv_heads=5,
                   llava_steps=2500, image_batch=256, clip_batch=16, clip_every=3, llava_lr=1e-3,
                   hf_check_images=200, hf_check_clips=20, deadline_s=520),
    # the CPU dry run: proves the pipeline end to end, accuracy meaningless
    "dry": dict(images=300, clips=12, val_images=40, vocab=600,
                image=224, patch=16, vit_hidden=64, vit_layers=3, vit_heads=4,
                vit_epochs=1, vit_batch=32, vit_lr=1e-3, vit_patch_loss=1.0, vit_share=0.5,
                llm_hidden=64, llm_ffn=128, llm_layers=2, llm_heads=4, llm_kv_heads=2,
                llava_steps=12, image_batch=16, clip_batch=2, clip_every=4, llava_lr=1e-3,
                hf_check_images=4, hf_check_clips=1, deadline_s=3600),
}
NORM_MEAN = torch.tensor(demo_model.CLIP_MEAN).view(1, 3, 1, 1)
NORM_STD = torch.tensor(demo_model.CLIP_STD).view(1, 3, 1, 1)


def log(msg: str) -> None:
    print(f"[{time.time() - T0:7.1f}s] {msg}", flush=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def autocast(device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)


def normalise(u8: torch.Tensor) -> torch.Tensor:
    """uint8 [n, 224, 224, 3] -> CLIP pixel values [n, 3, 224, 224] (rescale 1/255, mean/std)."""
    x = u8.permute(0, 3, 1, 2).float() / 255.0
    return (x - NORM_MEAN.to(x.device)) / NORM_STD.to(x.device)


def lr_at(progress: float, base: float) -> float:
    """Linear warm-up over the first 5% of training, then cosine down to 10% of `base`."""
    warm = 0.05
    if progress < warm:
        return base * max(progress, 1e-3) / warm
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - warm) / (1 - warm)))))


class Schedule:
    """Training progress in [0, 1]: the larger of steps done / steps planned and time spent / time
    allowed, so a stage that runs out of device time still ends with its learning rate decayed
    instead of being cut off at a high one."""

    def __init__(self, total_steps: int, end_time: float):
        self.total, self.start, self.end = total_steps, time.time(), end_time

    def progress(self, step: int) -> float:
        return max(step / max(1, self.total), (time.time() - self.start) / max(1e-6, self.end - self.start))


# ---------------------------------------------------------------------------------------------
# Stage (a): the ViT

class VitHeads(nn.Module):
    def __init__(self, d: int, n_multi: int):
        super().__init__()
        ns, nc, m = len(synth_data.SHAPES), len(synth_data.COLORS), synth_data.MAX_COUNT + 1
        self.multi = nn.Linear(d, n_multi)
        self.count = nn.Linear(d, m)
        self.shape_count = nn.Linear(d, ns * m)
        self.color_count = nn.Linear(d, nc * m)
        self.patch_norm = nn.LayerNorm(d)
        self.patch = nn.Linear(d, (ns + 1) + (nc + 1))

    def forward(self, cls, patches):
        ns, nc, m = len(synth_data.SHAPES), len(synth_data.COLORS), synth_data.MAX_COUNT + 1
        p = self.patch(self.patch_norm(patches))
        return {"multi": self.multi(cls), "count": self.count(cls),
                "shape_count": self.shape_count(cls).view(-1, ns, m), "color_count": self.color_count(cls).view(-1, nc, m),
                "patch_shape": p[..., :ns + 1], "patch_color": p[..., ns + 1:]}


def vit_forward(vit, heads, u8):
    out = vit(pixel_values=normalise(u8), output_hidden_states=True)
    return heads(out.pooler_output, out.hidden_states[-2][:, 1:])


def vit_loss(pred, lab, patch_weight: float):
    loss = F.binary_cross_entropy_with_logits(pred["multi"].float(), lab["multi"]) * 20
    loss = loss + F.cross_entropy(pred["count"].float(), lab["count"])
    for key in ("shape_count", "color_count"):
        loss = loss + F.cross_entropy(pred[key].float().flatten(0, 1), lab[key].flatten())
    for key in ("patch_shape", "patch_color"):
        loss = loss + patch_weight * F.cross_entropy(pred[key].float().flatten(0, 1), lab[key].flatten())
    return loss


def vit_metrics(pred, lab) -> dict:
    ns, nc = len(synth_data.SHAPES), len(synth_data.COLORS)
    pairs = slice(ns + nc, ns + nc + ns * nc)
    fg = lab["patch_shape"] > 0
    return {"pairs_exact": ((pred["multi"][:, pairs] > 0) == (lab["multi"][:, pairs] > 0.5)).all(1).float().sum().item(),
            "count": (pred["count"].argmax(-1) == lab["count"]).float().sum().item(),
            "patch_fg": ((pred["patch_shape"].argmax(-1) == lab["patch_shape"]) & (pred["patch_color"].argmax(-1) == lab["patch_color"]) & fg).float().sum().item() / max(1, fg.sum().item()) * len(lab["count"])}


@torch.no_grad()
def vit_evaluate(vit, heads, pix, lab, device, batch) -> dict:
    vit.eval()
    sums, n = {}, pix.shape[0]
    for s in range(0, n, batch):
        idx = torch.arange(s, min(n, s + batch), device=device)
        with autocast(device):
            pred = vit_forward(vit, heads, pix[idx])
        for k, v in vit_metrics(pred, {k: t[idx] for k, t in lab.items()}).items():
            sums[k] = sums.get(k, 0) + v
    vit.train()
    return {k: round(v / n, 4) for k, v in sums.items()}


def train_vit(c, device, pix, lab, val_pix, val_lab):
    vit = CLIPVisionModel._from_config(demo_model.vision_config(c), attn_implementation="sdpa").to(device)
    heads = VitHeads(c["vit_hidden"], lab["multi"].shape[1]).to(device)
    params = list(vit.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=c["vit_lr"], weight_decay=0.05, betas=(0.9, 0.98))
    n, b = pix.shape[0], c["vit_batch"]
    steps_per_epoch = max(1, n // b)
    total = steps_per_epoch * c["vit_epochs"]
    sched = Schedule(total, T0 + c["vit_share"] * c["deadline_s"])
    log(f"stage a: ViT {sum(p.numel() for p in vit.parameters()) / 1e6:.2f}M params, {n} images, {total} steps planned, "
        f"until {c['vit_share']:.0%} of the {c['deadline_s']} s deadline at most")
    step = 0
    done = False
    for epoch in range(c["vit_epochs"]):
        perm = torch.randperm(n, device=device)
        run = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * b:(s + 1) * b]
            progress = sched.progress(step)
            if progress >= 1:
                done = True
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(progress, c["vit_lr"])
            with autocast(device):
                pred = vit_forward(vit, heads, pix[idx])
            loss = vit_loss(pred, {k: t[idx] for k, t in lab.items()}, c["vit_patch_loss"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            run += loss.item() if s % 10 == 0 else 0.0
            step += 1
        if done:
            log(f"stage a: time share spent after {step} steps (epoch {epoch + 1}), learning rate decayed")
            break
        if epoch % 4 == 3 or epoch == c["vit_epochs"] - 1:
            log(f"stage a epoch {epoch + 1}/{c['vit_epochs']}: loss {loss.item():.4f} lr {lr_at(progress, c['vit_lr']):.2e} "
                f"val {vit_evaluate(vit, heads, val_pix, val_lab, device, b)}")
    sub = torch.arange(min(n, 2000), device=device)
    log(f"stage a done: train (first {len(sub)}) {vit_evaluate(vit, heads, pix[sub], {k: t[sub] for k, t in lab.items()}, device, b)}"
        f" val {vit_evaluate(vit, heads, val_pix, val_lab, device, b)}")
    return vit


@torch.no_grad()
def cls_attention_report(c, vit, val_pix, val_rows, device) -> dict:
    """Share of the CLS token's attention (head mean, summed over patches) that lands on patches an
    object touches, per layer, against the share of patches objects touch: the CLS token looks at
    the objects when the first is much larger than the second."""
    eager = CLIPVisionModel._from_config(vit.config, attn_implementation="eager").to(device)
    eager.load_state_dict(vit.state_dict())
    eager.eval()
    k = min(64, val_pix.shape[0])
    mask = torch.from_numpy(synth_data.object_patch_mask(val_rows[:k], c["patch"])).to(device)
    att = eager(pixel_values=normalise(val_pix[:k]), output_attentions=True).attentions
    shares = [round(((a[:, :, 0, 1:].mean(1) * mask).sum(1) / a[:, :, 0, 1:].mean(1).sum(1)).mean().item(), 3) for a in att]
    return {"cls_attention_on_objects_per_layer": shares, "object_patch_share": round(mask.float().mean().item(), 3)}


# ---------------------------------------------------------------------------------------------
# Stage (b): LLaVA

@torch.no_grad()
def features(vit, pix_frames, device, batch) -> torch.Tensor:
    """Layer -2 patch features (CLS dropped, as LLaVA's "default" strategy) of uint8 frames
    [n, f, 224, 224, 3] -> bf16 [n, f * P, D] on the device."""
    vit.eval()
    n, f = pix_frames.shape[:2]
    flat = pix_frames.reshape(n * f, *pix_frames.shape[2:])
    out = []
    for s in range(0, n * f, batch):
        with autocast(device):
            h = vit(pixel_values=normalise(flat[s:s + batch]), output_hidden_states=True).hidden_states[-2][:, 1:]
        out.append(h.to(torch.bfloat16))
    feats = torch.cat(out)
    return feats.view(n, f * feats.shape[1], feats.shape[2])


class QaSet:
    """Token ids of every question of a set, right-padded: prompt (image placeholders expanded to
    P tokens each) + answer + </s>; tgt[p] = the next token where it is an answer or </s> token."""

    def __init__(self, tok, rows, frames: int, patches: int, device, prompt_cache: dict):
        qs = synth_data.questions(rows)
        image_id = tok.convert_tokens_to_ids("<image>")
        seqs, starts = [], []
        for _, q, a, _ in qs:
            key = (q, frames)
            if key not in prompt_cache:
                ids = tok(demo_model.prompt_text(tok, q, frames))["input_ids"]
                expanded = []
                for t in ids:
                    expanded.extend([t] * patches if t == image_id else [t])
                prompt_cache[key] = expanded
            prompt = prompt_cache[key]
            seqs.append(prompt + answer_ids(tok, a) + [tok.eos_token_id])
            starts.append(len(prompt))
        length = max(len(s) for s in seqs)
        ids = torch.zeros(len(seqs), length, dtype=torch.long)
        tgt = torch.full((len(seqs), length), -100, dtype=torch.long)
        for i, (s, p) in enumerate(zip(seqs, starts)):
            ids[i, :len(s)] = torch.tensor(s)
            tgt[i, p - 1:len(s) - 1] = torch.tensor(s[p:])
        self.ids, self.tgt = ids.to(device), tgt.to(device)
        self.lens = torch.tensor([len(s) for s in seqs], device=device)
        self.item = torch.tensor([i for i, _, _, _ in qs], device=device)
        self.types = [t for _, _, _, t in qs]
        self.image_id = image_id

    def __len__(self):
        return len(self.types)


ANSWER_CACHE: dict = {}


def answer_ids(tok, answer: str) -> list[int]:
    if answer not in ANSWER_CACHE:
        ANSWER_CACHE[answer] = tok(" " + answer, add_special_tokens=False)["input_ids"]
    return ANSWER_CACHE[answer]


def check_tokenization(tok, proc, example_question: str) -> None:
    """The ids trained on are the ids the runtime produces: prompt + " answer" tokenised as one
    string equals prompt ids + answer ids, and the processor expands <image> like QaSet does."""
    prompt = demo_model.prompt_text(tok, example_question, 1)
    for a in ANSWER_CACHE:
        whole = tok(prompt + " " + a)["input_ids"]
        if whole != tok(prompt)["input_ids"] + answer_ids(tok, a):
            raise AssertionError(f"answer {a!r} tokenises differently after the prompt: {whole}")
    from PIL import Image
    got = proc(text=prompt, images=[Image.new("RGB", (224, 224))], return_tensors="pt")["input_ids"][0].tolist()
    image_id = tok.convert_tokens_to_ids("<image>")
    patches = (proc.image_processor.crop_size["height"] // proc.patch_size) ** 2
    mine = [x for t in tok(prompt)["input_ids"] for x in ([t] * patches if t == image_id else [t])]
    if got != mine:
        raise AssertionError(f"processor ids differ from QaSet's expansion:\n{got}\n{mine}")


def llava_batch_loss(model, qa: QaSet, feats: torch.Tensor, idx: torch.Tensor, device):
    """Mean loss over answer tokens and per-question exact-match flags for questions `idx`."""
    length = int(qa.lens[idx].max())
    ids, tgt = qa.ids[idx, :length], qa.tgt[idx, :length]
    lm = model.model.language_model
    with autocast(device):
        emb = lm.embed_tokens(ids)
        f = feats[qa.item[idx]]
        proj = model.model.multi_modal_projector(f.reshape(-1, f.shape[-1]).to(emb.dtype))
        emb = emb.masked_scatter((ids == qa.image_id).unsqueeze(-1), proj.to(emb.dtype))
        h = lm(inputs_embeds=emb, use_cache=False).last_hidden_state    # right padding: causal attention needs no mask
        sel = tgt != -100
        logits = model.lm_head(h[sel]).float()
    target = tgt[sel]
    loss = F.cross_entropy(logits, target)
    wrong = torch.zeros(len(idx), device=device)
    wrong.index_add_(0, sel.nonzero()[:, 0], (logits.argmax(-1) != target).float())
    return loss, wrong == 0


@torch.no_grad()
def llava_evaluate(model, qa: QaSet, feats, device, batch) -> dict:
    model.eval()
    ok = torch.cat([llava_batch_loss(model, qa, feats, torch.arange(s, min(len(qa), s + batch), device=device), device)[1]
                    for s in range(0, len(qa), batch)]).cpu().numpy()
    model.train()
    per_type = {}
    for t in sorted(set(qa.types)):
        m = np.array([x == t for x in qa.types])
        per_type[t] = round(float(ok[m].mean()), 4)
    return {"all": round(float(ok.mean()), 4), "n": len(qa), **per_type}


def train_llava(c, device, model, sets: dict, tok):
    params = [p for n, p in model.named_parameters() if not n.startswith("model.vision_tower.")]
    for p in model.model.vision_tower.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(params, lr=c["llava_lr"], weight_decay=0.01, betas=(0.9, 0.98))
    img_qa, img_feats = sets["train_images"]
    clip_qa, clip_feats = sets["train_clips"]
    total = c["llava_steps"]
    log(f"stage b: projector + decoder {sum(p.numel() for p in params) / 1e6:.2f}M trainable params, "
        f"{len(img_qa)} image questions, {len(clip_qa)} clip questions, {total} steps")
    model.train()
    hits, seen = 0.0, 0
    sched = Schedule(total, T0 + c["deadline_s"] - 60)
    for step in range(total):
        progress = sched.progress(step)
        if progress >= 1:
            log(f"stage b: stopping at step {step}: the {c['deadline_s']} s deadline is near (save and checks follow)")
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(progress, c["llava_lr"])
        idx = torch.randint(0, len(img_qa), (c["image_batch"],), device=device)
        loss, ok = llava_batch_loss(model, img_qa, img_feats, idx, device)
        if step % c["clip_every"] == 0:
            cidx = torch.randint(0, len(clip_qa), (c["clip_batch"],), device=device)
            closs, _ = llava_batch_loss(model, clip_qa, clip_feats, cidx, device)
            loss = loss + closs
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 50 == 0 or step == total - 1:
            hits, seen = ok.float().sum().item(), len(ok)
        if (step + 1) % max(1, total // 6) == 0 or step == total - 1:
            val = {k: llava_evaluate(model, qa, f, device, c["image_batch"] if "image" in k else c["clip_batch"])["all"]
                   for k, (qa, f) in sets.items() if k.startswith("val")}
            log(f"stage b step {step + 1}/{total}: loss {loss.item():.4f} train batch acc {hits / max(1, seen):.3f} val {val}")


# ---------------------------------------------------------------------------------------------

def hf_check(folder: Path, rows_images, pix_images, rows_clips, pix_clips, n_img, n_clip) -> dict:
    """Reloads the saved folder with transformers (weights as saved, computed in float32) and
    answers validation questions through LlavaProcessor + generate: the shipped artefact, end to end."""
    from PIL import Image
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = LlavaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).to(device).eval()
    proc = LlavaProcessor.from_pretrained(folder)
    results = {}
    for kind, rows, pix, n in (("images", rows_images, pix_images, n_img), ("clips", rows_clips, pix_clips, n_clip)):
        right, total = 0, 0
        for i, row in enumerate(rows[:n]):
            frames = [Image.fromarray(np.asarray(f)) for f in pix[i]]
            for q in row["questions"]:
                prompt = demo_model.prompt_text(proc.tokenizer, q["question"], len(frames))
                inputs = proc(text=prompt, images=frames, return_tensors="pt").to(device)
                with torch.no_grad():
                    out = model.generate(**inputs, do_sample=False, max_new_tokens=8)
                text = proc.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
                right += text.strip().lower().strip(".") == q["answer"]
                total += 1
        results[kind] = {"accuracy": round(right / max(1, total), 4), "questions": total}
    return results


def main():
    global T0
    T0 = time.time()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="device")
    ap.add_argument("--data", type=Path, required=True, help="TrainingDataExport output folder")
    ap.add_argument("--val-clips", type=Path, required=True, help="validation clips exported as mp4 (synth-export)")
    ap.add_argument("--out", type=Path, required=True, help="writes OUT/glimpse-demo and OUT/metrics.json")
    ap.add_argument("--resume", type=Path, help="a saved glimpse-demo folder: keep its ViT, tokenizer and processor, skip "
                    "stage (a) and continue stage (b) from its projector and decoder (a second device call when one "
                    "call's 10 minutes are not enough)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a preset value")
    args = ap.parse_args()
    c = dict(PRESETS[args.preset])
    for kv in args.set:
        k, v = kv.split("=", 1)
        c[k] = type(c[k])(v)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    seed_everything(args.seed)
    import transformers
    log(f"config: preset {args.preset} seed {args.seed} device {device} torch {torch.__version__} "
        f"transformers {transformers.__version__}\n{json.dumps(c, indent=1)}")

    # data
    tr_pix, tr_rows = synth_data.load_items(args.data, "train", "images")
    tc_pix, tc_rows = synth_data.load_items(args.data, "train", "clips")
    vi_pix, vi_rows = synth_data.load_items(args.data, "validation", "images")
    tr_pix, tr_rows = tr_pix[:c["images"]], tr_rows[:c["images"]]
    tc_pix, tc_rows = tc_pix[:c["clips"]], tc_rows[:c["clips"]]
    vi_pix, vi_rows = vi_pix[:c["val_images"]], vi_rows[:c["val_images"]]
    vc_pix, vc_rows = synth_data.load_exported_clips(args.val_clips, "validation")
    to_dev = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device)  # noqa: E731
    g_tr, g_vi = to_dev(tr_pix[:, 0]), to_dev(vi_pix[:, 0])
    lab = {k: to_dev(v) for k, v in synth_data.vit_labels(tr_rows, c["patch"]).items()}
    vlab = {k: to_dev(v) for k, v in synth_data.vit_labels(vi_rows, c["patch"]).items()}
    log(f"data: {len(tr_rows)} train images, {len(tc_rows)} train clips (lossless frames), {len(vi_rows)} "
        f"validation images, {len(vc_rows)} validation clips (mp4, decoded)")

    if args.resume:
        # stage (a) done in an earlier call: its tower, tokenizer and processor as saved
        model = LlavaForConditionalGeneration.from_pretrained(args.resume, dtype=torch.float32,
                                                              attn_implementation="sdpa").to(device)
        proc = LlavaProcessor.from_pretrained(args.resume)
        tok = proc.tokenizer
        vit = model.model.vision_tower
        cls_report = cls_attention_report(c, vit, g_vi, vi_rows, device)
        log(f"resumed from {args.resume}: stage a skipped; CLS attention on object patches {cls_report}")
        t_b = time.time()
    else:
        # stage (a)
        t_a = time.time()
        vit = train_vit(c, device, g_tr, lab, g_vi, vlab)
        cls_report = cls_attention_report(c, vit, g_vi, vi_rows, device)
        log(f"stage a: {time.time() - t_a:.0f} s; CLS attention on object patches {cls_report}")

        # stage (b)
        t_b = time.time()
        tok = demo_model.train_tokenizer(synth_data.vocabulary_lines(tr_rows + tc_rows), c["vocab"])
        proc = demo_model.processor(c, tok)
        config = demo_model.llava_config(c, tok)
        model = LlavaForConditionalGeneration._from_config(config, attn_implementation="sdpa").to(device)
        model.model.vision_tower.load_state_dict(vit.state_dict())
        demo_model.finish_generation_config(model, tok)
    patches = (c["image"] // c["patch"]) ** 2
    cache: dict = {}
    fb = c["vit_batch"]
    sets = {
        "train_images": (QaSet(tok, tr_rows, 1, patches, device, cache), features(vit, g_tr.unsqueeze(1), device, fb)),
        "train_clips": (QaSet(tok, tc_rows, synth_data.FRAMES, patches, device, cache), features(vit, to_dev(tc_pix), device, fb)),
        "val_images": (QaSet(tok, vi_rows, 1, patches, device, cache), features(vit, g_vi.unsqueeze(1), device, fb)),
        "val_clips_mp4": (QaSet(tok, vc_rows, synth_data.FRAMES, patches, device, cache), features(vit, to_dev(vc_pix), device, fb)),
    }
    check_tokenization(tok, proc, tr_rows[0]["questions"][0]["question"])
    log(f"tokenizer: {len(tok)} tokens; answers {dict(list(ANSWER_CACHE.items())[:6])}...; features cached")
    train_llava(c, device, model, sets, tok)
    metrics = {k: llava_evaluate(model, qa, f, device, c["image_batch"] if "image" in k else c["clip_batch"])
               for k, (qa, f) in sets.items()}
    log(f"stage b: {time.time() - t_b:.0f} s")
    for k, v in metrics.items():
        log(f"  {k}: {v}")

    # save (bf16) and check the saved folder end to end with transformers
    folder = args.out / "glimpse-demo"
    model.to(torch.bfloat16).save_pretrained(folder)
    proc.save_pretrained(folder)
    size = sum(f.stat().st_size for f in folder.iterdir())
    log(f"saved {folder} ({size / 1e6:.1f} MB): {sorted(f.name for f in folder.iterdir())}")
    del sets
    hf = hf_check(folder, vi_rows, vi_pix, vc_rows, vc_pix, c["hf_check_images"], c["hf_check_clips"])
    log(f"transformers reload + generate on validation (bf16 weights, f32 compute): {hf}")
    summary = {"config": c, "seed": args.seed, "resumed_from": str(args.resume) if args.resume else None, "device": str(device), "stage_a_cls_attention": cls_report,
               "stage_b_accuracy": metrics, "hf_generate_check": hf, "folder_bytes": size,
               "seconds": round(time.time() - T0, 1)}
    (args.out / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
    log(f"done in {time.time() - T0:.0f} s")


T0 = time.time()
if __name__ == "__main__":
    main()
