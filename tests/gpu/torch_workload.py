# SPDX-License-Identifier: MIT
"""torch_workload.py MODE [ARG] - a real PyTorch job whose allocations the
trace tools record on a GPU machine (tools/replay/gpu_check.sh).

The job: a small GPT-style model (8 layers, d=1024, bf16 autocast, AdamW)
trained for 12 steps on batches whose sequence length varies at random
(128-1024 tokens), then three rounds of generation that grow every layer's
KV cache by concatenation, one token at a time, as naive serving code does.
Both phases are what makes caching allocators fragment: activations whose
sizes change every step, and buffers that grow by a little, many times.

MODE:
  snapshot PATH   PyTorch's own caching allocator, recording its history;
                  writes the memory snapshot to PATH
                  (torch.cuda.memory._dump_snapshot)
  plain           PyTorch's own caching allocator, nothing recorded (set
                  PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to measure
                  expandable segments)
  shim LIBGPUVM   under the gpuvm preload shim with
                  PYTORCH_NO_CUDA_MEMORY_CACHING=1; prints gpuvm_stats

Every mode prints one line "RESULT mode=... peak_requested=... peak_held=..."
with what the allocator in use held at its peak, read from the allocator
itself, so that the replay's models can be compared with the real thing.
"""
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

import gpuvm_stats

VOCAB, DIM, HEADS, LAYERS, FF = 32000, 1024, 16, 8, 4096


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(DIM)
        self.qkv = torch.nn.Linear(DIM, 3 * DIM)
        self.proj = torch.nn.Linear(DIM, DIM)
        self.ln2 = torch.nn.LayerNorm(DIM)
        self.up = torch.nn.Linear(DIM, FF)
        self.down = torch.nn.Linear(FF, DIM)

    def forward(self, x, cache=None):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(DIM, dim=2)
        q, k, v = (z.view(b, t, HEADS, DIM // HEADS).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            if cache[0] is not None:
                # the naive KV cache: a new, slightly larger tensor per token
                k = torch.cat([cache[0], k], dim=2)
                v = torch.cat([cache[1], v], dim=2)
            cache[0], cache[1] = k, v
        att = F.scaled_dot_product_attention(q, k, v, is_causal=cache is None or t > 1)
        x = x + self.proj(att.transpose(1, 2).reshape(b, t, DIM))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class GPT(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(VOCAB, DIM)
        self.blocks = torch.nn.ModuleList(Block() for _ in range(LAYERS))
        self.ln = torch.nn.LayerNorm(DIM)
        self.head = torch.nn.Linear(DIM, VOCAB, bias=False)

    def forward(self, idx, caches=None):
        x = self.emb(idx)
        for i, blk in enumerate(self.blocks):
            x = blk(x, None if caches is None else caches[i])
        return self.head(self.ln(x))


def job():
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    model = GPT().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for _ in range(12):
        t = int(torch.randint(128, 1025, (1,), generator=g))
        idx = torch.randint(0, VOCAB, (8, t + 1), generator=g).cuda()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(idx[:, :-1])
        loss = F.cross_entropy(logits.float().view(-1, VOCAB), idx[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        del logits
    del opt
    model.eval()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        for batch in (4, 16, 8):
            t = int(torch.randint(64, 513, (1,), generator=g))
            idx = torch.randint(0, VOCAB, (batch, t), generator=g).cuda()
            caches = [[None, None] for _ in range(LAYERS)]
            nxt = model(idx, caches)[:, -1:].argmax(-1)
            for _ in range(128):
                nxt = model(nxt, caches)[:, -1:].argmax(-1)
            del caches, nxt
    torch.cuda.synchronize()
    return loss.item()


def report(mode, loss, seconds, requested, held):
    frag = 1 - requested / held if held else math.nan
    print(f"RESULT mode={mode} loss={loss:.4f} seconds={seconds:.2f} "
          f"peak_requested={requested >> 20}MiB peak_held={held >> 20}MiB "
          f"frag={frag:.3f}", flush=True)


def main(argv):
    mode = argv[1] if len(argv) > 1 else "plain"
    if mode == "snapshot":
        torch.cuda.memory._record_memory_history(enabled="all", context=None,
                                                 stacks="python", max_entries=1 << 20)
    start = time.perf_counter()
    loss = job()
    seconds = time.perf_counter() - start
    if mode == "shim":
        rc, st = gpuvm_stats.read(argv[2])
        if rc != 0 or st.alloc_calls == 0:
            print("shim: gpuvm served nothing: is the shim preloaded?")
            return 1
        report("gpuvm-shim", loss, seconds, st.peak_requested, st.peak_mapped)
        return 0
    conf = os.environ.get("PYTORCH_CUDA_ALLOC_CONF") or ""
    conf = "expandable" if "expandable_segments:True" in conf else "caching"
    report(f"torch-{conf}", loss, seconds, torch.cuda.max_memory_allocated(),
           torch.cuda.max_memory_reserved())
    if mode == "snapshot":
        torch.cuda.memory._dump_snapshot(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
