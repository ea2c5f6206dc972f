#!/usr/bin/env python3
"""Trains the bundled tiny Stable-Diffusion-shaped model (models/tiny-sd) and exports it to ONNX.

    /usr/bin/python3 scripts/train-tiny-sd/train.py --out models/tiny-sd

Everything comes from --seed: a synthetic captioned data set ("a <colour> <shape> on a <colour>
background", 64x64), a VAE (64x64x3 <-> 8x8x4), then a CLIP-style text encoder and a UNet with
cross-attention trained together on the frozen VAE's latents with the epsilon objective and SD 1.x's
noise schedule. The export has the input/output names, dtypes and layouts of an optimum SD export
(see docs/models.md). Needs Debian's python3-torch (1.13), python3-onnx and python3-numpy, and Node
(the prompts are tokenised by the server's own tokenizer, scripts/train-tiny-sd/tokenize.ts).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

COLOURS = {
    'red': (220, 30, 30),
    'green': (30, 170, 50),
    'blue': (30, 60, 220),
    'yellow': (240, 210, 30),
    'white': (245, 245, 245),
    'black': (15, 15, 15),
}
SHAPES = ['circle', 'square', 'triangle']
SIZE = 64
SCALING_FACTOR = 0.18215
TEXT_LEN = 77
CONTEXT_LEN = 32  # text positions the UNet attends to (the longest training prompt has 27 tokens)


def log(*args):
    print(time.strftime('%H:%M:%S'), *args, flush=True)


# ---------------------------------------------------------------- data set

GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5

def shape_mask(rng, shape):
    """A boolean 64x64 mask of one shape that covers the centre 8x8 and leaves the 12x12 corners free."""
    yy, xx = GRID
    while True:
        cx, cy = rng.uniform(22, 42, size=2)
        if shape == 'circle':
            r = rng.uniform(11, 26)
            m = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        elif shape == 'square':
            h = rng.uniform(9, 21)
            m = (np.abs(xx - cx) <= h) & (np.abs(yy - cy) <= h)
        else:
            s = rng.uniform(13, 30)
            up = rng.random() < 0.5
            d = 1.0 if up else -1.0
            apex_y = cy - d * s
            base_y = cy + d * 0.6 * s
            # inside: between apex and base rows, and |x - cx| within the linearly growing half-width
            frac = (yy - apex_y) / (base_y - apex_y)
            m = (frac >= 0) & (frac <= 1) & (np.abs(xx - cx) <= frac * s * 0.95)
        if m[28:36, 28:36].all() and not (
            m[:12, :12].any() or m[:12, -12:].any() or m[-12:, :12].any() or m[-12:, -12:].any()
        ):
            return m


def make_dataset(n, seed):
    """n images (uint8 HWC) with (shape, fg, bg) labels; fg != bg; colours jittered by up to +-10."""
    rng = np.random.default_rng(seed)
    names = list(COLOURS)
    images = np.zeros((n, SIZE, SIZE, 3), dtype=np.uint8)
    labels = []
    for i in range(n):
        shape = SHAPES[rng.integers(len(SHAPES))]
        fg = names[rng.integers(len(names))]
        bg = names[rng.integers(len(names) - 1)]
        if bg == fg:
            bg = names[-1]
        m = shape_mask(rng, shape)
        cf = np.clip(np.array(COLOURS[fg]) + rng.integers(-10, 11, size=3), 0, 255)
        cb = np.clip(np.array(COLOURS[bg]) + rng.integers(-10, 11, size=3), 0, 255)
        images[i] = np.where(m[..., None], cf, cb).astype(np.uint8)
        labels.append((shape, fg, bg))
    return images, labels


def captions_of(shape, fg, bg):
    """Full caption, and the two partial ones (shape only, background only)."""
    return f'a {fg} {shape} on a {bg} background', f'a {fg} {shape}', f'a {bg} background'


def tokenize(prompts, tokenizer_dir):
    out = subprocess.run(
        ['npx', 'tsx', os.path.join(HERE, 'tokenize.ts'), tokenizer_dir],
        input=json.dumps(prompts), capture_output=True, text=True, cwd=ROOT, check=True,
    )
    data = json.loads(out.stdout)
    return data['vocabSize'], np.array(data['ids'], dtype=np.int64)


def to_tensor(images):
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0


# ---------------------------------------------------------------- networks

class VaeEncoder(nn.Module):
    """64x64x3 -> 8x8x4: an 8x8 patch embedding and two 3x3 convolutions."""

    def __init__(self, c=64):
        super().__init__()
        self.patch = nn.Conv2d(3, c, 8, stride=8)
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.out = nn.Conv2d(c, 4, 3, padding=1)

    def forward(self, x):
        h = F.silu(self.patch(x))
        h = h + F.silu(self.c1(h))
        return self.out(h)


class VaeDecoder(nn.Module):
    """8x8x4 -> 64x64x3: 3x3 convolutions, a 1x1 to 8x8x8 sub-pixels, depth-to-space x8, a 3x3 smoothing conv."""

    def __init__(self, c=64, sub=8):
        super().__init__()
        self.inp = nn.Conv2d(4, c, 3, padding=1)
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.c2 = nn.Conv2d(c, c, 3, padding=1)
        self.to_sub = nn.Conv2d(c, sub * 64, 1)
        self.shuffle = nn.PixelShuffle(8)
        self.out = nn.Conv2d(sub, 3, 3, padding=1)

    def forward(self, z):
        h = F.silu(self.inp(z))
        h = h + F.silu(self.c1(h))
        h = h + F.silu(self.c2(h))
        h = F.silu(self.shuffle(self.to_sub(h)))
        return self.out(h)


class Attention(nn.Module):
    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(ctx_dim, dim, bias=False)
        self.v = nn.Linear(ctx_dim, dim, bias=False)
        self.o = nn.Linear(dim, dim)

    def forward(self, x, ctx, mask=None):
        b, n, d = x.shape
        h = self.heads
        q = self.q(x).reshape(b, n, h, d // h).transpose(1, 2)
        k = self.k(ctx).reshape(b, -1, h, d // h).transpose(1, 2)
        v = self.v(ctx).reshape(b, -1, h, d // h).transpose(1, 2)
        w = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(d // h))
        if mask is not None:
            w = w + mask
        a = torch.softmax(w, dim=-1) @ v
        return self.o(a.transpose(1, 2).reshape(b, n, d))


class TextEncoder(nn.Module):
    """CLIP-shaped: token + position embeddings, causal pre-norm transformer layers, final LayerNorm."""

    def __init__(self, vocab, dim=64, layers=2, heads=4):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(TEXT_LEN, dim) * 0.02)
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(nn.ModuleDict({
                'ln1': nn.LayerNorm(dim), 'attn': Attention(dim, dim, heads),
                'ln2': nn.LayerNorm(dim), 'ff': nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim)),
            }))
        self.ln = nn.LayerNorm(dim)
        mask = torch.full((TEXT_LEN, TEXT_LEN), -1e4).triu(1)
        self.register_buffer('mask', mask)

    def forward(self, ids):
        n = ids.shape[1]
        x = self.tok(ids) + self.pos[:n]
        for layer in self.layers:
            y = layer['ln1'](x)
            x = x + layer['attn'](y, y, self.mask[:n, :n])
            x = x + layer['ff'](layer['ln2'](x))
        return self.ln(x)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.reshape(-1, 1).float() * freqs.reshape(1, -1)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, c, temb):
        super().__init__()
        self.n1 = nn.GroupNorm(8, c)
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.t = nn.Linear(temb, c)
        self.n2 = nn.GroupNorm(8, c)
        self.c2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(emb).unsqueeze(-1).unsqueeze(-1)
        h = self.c2(F.silu(self.n2(h)))
        return x + h


class TransformerBlock(nn.Module):
    """Cross-attention on the text states and a feed-forward layer, per latent cell. No self-attention: its
    memory grows with the square of the latent area (a 1024x1024 image has 16384 cells)."""

    def __init__(self, c, ctx_dim, heads):
        super().__init__()
        self.norm = nn.GroupNorm(8, c)
        self.ln2 = nn.LayerNorm(c)
        self.cross = Attention(c, ctx_dim, heads)
        self.ln3 = nn.LayerNorm(c)
        self.ff = nn.Sequential(nn.Linear(c, c * 2), nn.GELU(), nn.Linear(c * 2, c))

    def forward(self, x, ctx):
        b, c, hh, ww = x.shape
        h = self.norm(x).flatten(2).transpose(1, 2)
        h = h + self.cross(self.ln2(h), ctx)
        h = h + self.ff(self.ln3(h))
        return x + h.transpose(1, 2).reshape(b, c, hh, ww)


class UNet(nn.Module):
    """A single-resolution 'UNet' (any latent size works): residual blocks with a timestep embedding and
    transformer blocks with cross-attention on the text states."""

    def __init__(self, c=32, ctx_dim=64, temb=128, heads=4):
        super().__init__()
        self.temb_dim = temb
        self.time = nn.Sequential(nn.Linear(64, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.inp = nn.Conv2d(4, c, 3, padding=1)
        self.r1 = ResBlock(c, temb)
        self.a1 = TransformerBlock(c, ctx_dim, heads)
        self.r2 = ResBlock(c, temb)
        self.a2 = TransformerBlock(c, ctx_dim, heads)
        self.r3 = ResBlock(c, temb)
        self.norm = nn.GroupNorm(8, c)
        self.out = nn.Conv2d(c, 4, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states):
        # every training prompt fits in CONTEXT_LEN tokens; the rest are padding (and cost training time)
        encoder_hidden_states = encoder_hidden_states[:, :CONTEXT_LEN]
        emb = F.silu(self.time(timestep_embedding(timestep, 64)))
        h = self.inp(sample)
        h = self.r1(h, emb)
        h = self.a1(h, encoder_hidden_states)
        h = self.r2(h, emb)
        h = self.a2(h, encoder_hidden_states)
        h = self.r3(h, emb)
        return self.out(F.silu(self.norm(h)))


class ExportEncoder(nn.Module):
    """VAE encoder as exported: image in [-1, 1] -> unscaled latents (multiply by scaling_factor for the UNet)."""

    def __init__(self, enc, mean, std):
        super().__init__()
        self.enc = enc
        self.register_buffer('mean', mean.reshape(1, 4, 1, 1))
        self.register_buffer('k', (1.0 / (std * SCALING_FACTOR)).reshape(1, 4, 1, 1))

    def forward(self, sample):
        return (self.enc(sample) - self.mean) * self.k


class ExportDecoder(nn.Module):
    """VAE decoder as exported: unscaled latents (UNet latents / scaling_factor) -> image in about [-1, 1]."""

    def __init__(self, dec, mean, std):
        super().__init__()
        self.dec = dec
        self.register_buffer('mean', mean.reshape(1, 4, 1, 1))
        self.register_buffer('s', (std * SCALING_FACTOR).reshape(1, 4, 1, 1))

    def forward(self, latent_sample):
        return self.dec(latent_sample * self.s + self.mean)


def count(m):
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------- training

def alphas_cumprod():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


def lr_at(step, total, base, warmup=100):
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def train_vae(x, steps, batch, gen):
    enc, dec = VaeEncoder(), VaeDecoder()
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.AdamW(params, lr=3e-3, weight_decay=0.0)
    log(f'VAE: {count(enc) + count(dec)} parameters, {steps} steps of {batch}')
    losses = []
    for step in range(steps):
        for g in opt.param_groups:
            g['lr'] = lr_at(step, steps, 3e-3, 50)
        idx = torch.randint(0, x.shape[0], (batch,), generator=gen)
        img = x[idx]
        z = enc(img)
        # latent noise makes the decoder tolerant of the UNet's imprecision; the penalty keeps z bounded
        zn = z + 0.05 * torch.randn(z.shape, generator=gen) * z.detach().std()
        rec = dec(zn)
        loss = F.mse_loss(rec, img) + 1e-4 * (z ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            log(f'VAE step {step} loss {np.mean(losses[-100:]):.5f}')
    return enc.eval(), dec.eval(), float(np.mean(losses[-100:]))


class Ema:
    def __init__(self, modules, decay):
        self.decay = decay
        self.params = [p for m in modules for p in m.parameters()]
        self.shadow = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self, step):
        d = min(self.decay, (1 + step) / (10 + step))
        for s, p in zip(self.shadow, self.params):
            s.mul_(d).add_(p.detach(), alpha=1 - d)

    @torch.no_grad()
    def swap(self):
        for s, p in zip(self.shadow, self.params):
            tmp = p.detach().clone()
            p.copy_(s)
            s.copy_(tmp)


def export(out, text, unet, enc, dec, mean, std, tokenizer_dir, meta):
    os.makedirs(out, exist_ok=True)
    for part in ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder', 'scheduler', 'tokenizer']:
        os.makedirs(os.path.join(out, part), exist_ok=True)
    ids = torch.full((1, TEXT_LEN), 0, dtype=torch.int64)
    with torch.no_grad():
        torch.onnx.export(text, (ids,), os.path.join(out, 'text_encoder', 'model.onnx'), opset_version=14,
                          input_names=['input_ids'], output_names=['last_hidden_state'],
                          dynamic_axes={'input_ids': {0: 'batch'}, 'last_hidden_state': {0: 'batch'}})
        ctx = text(ids)
        torch.onnx.export(unet, (torch.zeros(1, 4, 8, 8), torch.tensor(500.0), ctx),
                          os.path.join(out, 'unet', 'model.onnx'), opset_version=14,
                          input_names=['sample', 'timestep', 'encoder_hidden_states'], output_names=['out_sample'],
                          dynamic_axes={'sample': {0: 'batch', 2: 'height', 3: 'width'},
                                        'encoder_hidden_states': {0: 'batch'},
                                        'out_sample': {0: 'batch', 2: 'height', 3: 'width'}})
        torch.onnx.export(ExportDecoder(dec, mean, std), (torch.zeros(1, 4, 8, 8),),
                          os.path.join(out, 'vae_decoder', 'model.onnx'), opset_version=14,
                          input_names=['latent_sample'], output_names=['sample'],
                          dynamic_axes={'latent_sample': {0: 'batch', 2: 'height', 3: 'width'},
                                        'sample': {0: 'batch', 2: 'height', 3: 'width'}})
        torch.onnx.export(ExportEncoder(enc, mean, std), (torch.zeros(1, 3, 64, 64),),
                          os.path.join(out, 'vae_encoder', 'model.onnx'), opset_version=14,
                          input_names=['sample'], output_names=['latent_sample'],
                          dynamic_axes={'sample': {0: 'batch', 2: 'height', 3: 'width'},
                                        'latent_sample': {0: 'batch', 2: 'height', 3: 'width'}})
    src_tok = os.path.abspath(tokenizer_dir)
    dst_tok = os.path.abspath(os.path.join(out, 'tokenizer'))
    if src_tok != dst_tok:
        for name in os.listdir(src_tok):
            shutil.copy(os.path.join(src_tok, name), os.path.join(dst_tok, name))
    with open(os.path.join(out, 'scheduler', 'scheduler_config.json'), 'w') as f:
        json.dump({
            '_class_name': 'PNDMScheduler', 'beta_end': 0.012, 'beta_schedule': 'scaled_linear',
            'beta_start': 0.00085, 'num_train_timesteps': 1000, 'set_alpha_to_one': False,
            'skip_prk_steps': True, 'steps_offset': 1, 'timestep_spacing': 'leading',
        }, f, indent=2)
        f.write('\n')
    with open(os.path.join(out, 'model_index.json'), 'w') as f:
        json.dump({
            '_class_name': 'ORTStableDiffusionPipeline', '_diffusers_version': '0.30.0',
            'feature_extractor': [None, None], 'requires_safety_checker': False, 'safety_checker': [None, None],
            'scheduler': ['diffusers', 'PNDMScheduler'], 'text_encoder': ['optimum', 'ORTModelTextEncoder'],
            'tokenizer': ['transformers', 'CLIPTokenizer'], 'unet': ['optimum', 'ORTModelUnet'],
            'vae_decoder': ['optimum', 'ORTModelVaeDecoder'], 'vae_encoder': ['optimum', 'ORTModelVaeEncoder'],
        }, f, indent=2)
        f.write('\n')
    with open(os.path.join(out, 'model.json'), 'w') as f:
        json.dump({
            'key': 'tiny-sd', 'name': 'Tiny SD (shapes)', 'base': 'sd-1',
            'description': 'Trained SD-1.x-shaped toy model (scripts/train-tiny-sd): draws "a <colour> <shape> '
                           'on a <colour> background" (red, green, blue, yellow, white, black; circle, square, '
                           'triangle) at 64x64.',
            'latent_channels': 4, 'vae_scale_factor': 8, 'scaling_factor': SCALING_FACTOR,
        }, f, indent=2)
        f.write('\n')
    with open(os.path.join(out, 'training.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    # the repository's formatter (biome) checks JSON under models/: write it in its style
    jsons = [os.path.join(out, p) for p in ['model.json', 'model_index.json', 'training.json',
                                             os.path.join('scheduler', 'scheduler_config.json')]]
    subprocess.run(['npx', 'biome', 'format', '--write', *jsons], cwd=ROOT, capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(ROOT, 'models', 'tiny-sd'))
    ap.add_argument('--tokenizer', default=os.path.join(ROOT, 'models', 'tiny-sd', 'tokenizer'))
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--images', type=int, default=8000)
    ap.add_argument('--vae-steps', type=int, default=400)
    ap.add_argument('--vae-batch', type=int, default=32)
    ap.add_argument('--steps', type=int, default=4000)
    ap.add_argument('--stop-at', type=int, default=0,
                    help='stop (and export) after this many steps of the --steps schedule; 0: run it all')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--export-every', type=int, default=1000)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    started = time.time()

    images, labels = make_dataset(args.images, args.seed)
    log(f'data set: {len(images)} images')
    x = to_tensor(images)

    enc, dec, vae_loss = train_vae(x, args.vae_steps, args.vae_batch, gen)
    for p in list(enc.parameters()) + list(dec.parameters()):
        p.requires_grad_(False)
    with torch.no_grad():
        raw = torch.cat([enc(x[i:i + 1000]) for i in range(0, len(x), 1000)])
        mean = raw.mean(dim=(0, 2, 3))
        std = raw.std(dim=(0, 2, 3))
        latents = (raw - mean.reshape(1, 4, 1, 1)) / std.reshape(1, 4, 1, 1)
        rec = dec(raw[:500])
        vae_rmse = float(((rec - x[:500]) ** 2).mean().sqrt())
    log(f'VAE done: loss {vae_loss:.5f}, rmse {vae_rmse:.4f}, latent mean {mean.tolist()} std {std.tolist()}')

    # prompts: full caption, shape only, background only, empty (classifier-free guidance dropout)
    prompts = sorted({c for lab in labels for c in captions_of(*lab)} | {''})
    vocab, ids = tokenize(prompts, args.tokenizer)
    index = {p: i for i, p in enumerate(prompts)}
    ids = torch.from_numpy(ids)
    log(f'{len(prompts)} distinct prompts, vocab {vocab}')

    text = TextEncoder(vocab)
    unet = UNet()
    log(f'text encoder {count(text)} parameters, UNet {count(unet)} parameters')
    params = list(text.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    ema = Ema([text, unet], 0.998)
    ac = alphas_cumprod()
    # which caption each sample gets: 70% full, 10% shape only, 10% background only, 10% empty
    kind_p = torch.tensor([0.7, 0.1, 0.1, 0.1])
    # a batch is `groups` labels x `per` images of that label, one prompt per group: the text encoder runs on
    # `groups` prompts, over their first CONTEXT_LEN tokens only
    per = 4
    groups = args.batch // per
    label_keys = sorted(set(labels))
    by_label = [torch.tensor([i for i, lab in enumerate(labels) if lab == key]) for key in label_keys]
    label_cap = torch.tensor([[index[c] for c in captions_of(*key)] + [index['']] for key in label_keys])
    assert max(int((row != ids[0, -1]).sum()) for row in ids) + 1 <= CONTEXT_LEN
    losses = []
    t0 = time.time()
    for step in range(args.steps):
        for g in opt.param_groups:
            g['lr'] = lr_at(step, args.steps, args.lr)
        lab = torch.randint(0, len(label_keys), (groups,), generator=gen)
        idx = torch.cat([by_label[int(k)][torch.randint(0, len(by_label[int(k)]), (per,), generator=gen)] for k in lab])
        x0 = latents[idx]
        kind = torch.multinomial(kind_p, groups, replacement=True, generator=gen)
        tok = ids[label_cap[lab, kind]][:, :CONTEXT_LEN]
        ctx = text(tok).repeat_interleave(per, dim=0)
        t = torch.randint(0, 1000, (args.batch,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        a = ac[t].reshape(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        pred = unet(xt, t.float(), ctx)
        loss = F.mse_loss(pred, noise)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema.update(step)
        losses.append(loss.item())
        if step % 50 == 0 or step == args.steps - 1:
            el = time.time() - t0
            log(f'step {step} loss {np.mean(losses[-200:]):.4f} ({el / (step + 1) * 1000:.0f} ms/step)')
        done = step == args.steps - 1 or step + 1 == args.stop_at
        if done or (args.export_every and step > 0 and step % args.export_every == 0):
            ema.swap()
            text.eval()
            unet.eval()
            meta = {
                'seed': args.seed, 'images': args.images, 'vae_steps': args.vae_steps, 'steps': step + 1,
                'schedule_steps': args.steps,
                'batch': args.batch, 'vae_loss': round(vae_loss, 6), 'vae_rmse': round(vae_rmse, 5),
                'loss_last_200': round(float(np.mean(losses[-200:])), 5),
                'parameters': {'text_encoder': count(text), 'unet': count(unet),
                               'vae_encoder': count(enc), 'vae_decoder': count(dec)},
                'seconds': round(time.time() - started), 'threads': args.threads,
                'torch': torch.__version__,
            }
            export(args.out, text, unet, enc, dec, mean, std, args.tokenizer, meta)
            log(f'exported to {args.out} at step {step + 1}: {json.dumps(meta)}')
            ema.swap()
            text.train()
            unet.train()
        if done:
            break


if __name__ == '__main__':
    sys.exit(main())
