"""The training step SaeMl runs, written plainly in PyTorch, timed at the shapes of `SaeMl.Benchmarks sae-train`.

The method is SaeMl's default objective: a TopK sparse autoencoder, FVU + λ·[KL(p ‖ p̂) + r·KL(p ‖ p_z)] over each
query's M neighbor documents at temperature τ, Adam, decoder rows kept unit (their gradient's component along the row
removed before the step, renormalised after), the firing counters updated and the loss terms read back once per step.
No latent is dead within a few steps, so, as in `sae-train`, the AuxK term does no work.

The decoder is written the three ways PyTorch code usually writes it:
  dense   the K-sparse codes scattered into a dense [N, n] matrix times W_dec (autograd through two dense products)
  gather  the K decoder rows of each vector gathered and weighted ([N, K, d] in memory)
  bag     torch.nn.functional.embedding_bag with per-sample weights (a fused gather-sum)
The encoder is the dense product in every variant, and autograd differentiates through it densely: that is the
plain method's cost, where SaeMl's backward touches only the K chosen latents.

Usage: python3 reference_sae.py --device cuda --latents 16384,65536 --k 64 --steps 5
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def unit_rows(count, d, generator, device):
    rows = torch.randn(count, d, generator=generator, device=device)
    return rows / rows.norm(dim=1, keepdim=True)


def kl(original, reconstructed):
    log_p = original.log_softmax(1)
    return (log_p.exp() * (log_p - reconstructed.log_softmax(1))).sum(1).mean()


class Sae(torch.nn.Module):
    def __init__(self, d, n, k, decoder_bias, generator, device):
        super().__init__()
        directions = torch.randn(n, d, generator=generator, device=device)
        directions /= directions.norm(dim=1, keepdim=True)
        self.w_dec = torch.nn.Parameter(directions.clone())            # [n, d], unit rows
        self.w_enc = torch.nn.Parameter(directions.clone())            # [n, d], tied at the start
        self.b_enc = torch.nn.Parameter(torch.zeros(n, device=device))
        self.b_dec = torch.nn.Parameter(decoder_bias.clone())
        self.k = k

    def forward(self, x, decoder):
        pre = (x - self.b_dec) @ self.w_enc.T + self.b_enc              # [N, n]
        top = pre.topk(self.k, dim=1)
        values, indices = top.values.relu(), top.indices
        if decoder == "dense":
            z = torch.zeros_like(pre).scatter(1, indices, values)
            reconstruction = z @ self.w_dec
        elif decoder == "gather":
            reconstruction = (values.unsqueeze(-1) * self.w_dec[indices]).sum(1)
        else:
            reconstruction = F.embedding_bag(indices, self.w_dec, per_sample_weights=values, mode="sum")
        return values, indices, reconstruction + self.b_dec


def objective(model, queries, documents, m, decoder, variance, tau, kl_weight, latent_ratio):
    b, d = queries.shape
    x = torch.cat([queries, documents])
    values, indices, reconstruction = model(x, decoder)
    mse = (reconstruction - x).square().mean()
    original = torch.bmm(documents.view(b, m, d), queries.unsqueeze(-1)).squeeze(-1) / tau
    rq, rd = reconstruction[:b], reconstruction[b:].view(b, m, d)
    kld = kl(original, torch.bmm(rd, rq.unsqueeze(-1)).squeeze(-1) / tau)
    k = values.shape[1]
    dense_queries = torch.zeros(b, model.w_dec.shape[0], device=x.device).scatter(1, indices[:b], values[:b])
    document_values, document_indices = values[b:].view(b, m, k), indices[b:].reshape(b, m * k)
    latent_scores = (dense_queries.gather(1, document_indices).view(b, m, k) * document_values).sum(2)
    latent_kld = kl(original, latent_scores / tau)
    total = mse / variance + kl_weight * (kld + latent_ratio * latent_kld)
    return total, mse, kld, latent_kld, values, indices


def train_step(model, optimizer, counts, queries, documents, m, decoder, variance, tau, kl_weight, latent_ratio):
    total, mse, kld, latent_kld, values, indices = objective(model, queries, documents, m, decoder, variance, tau, kl_weight, latent_ratio)
    total.backward()
    with torch.no_grad():
        g, w = model.w_dec.grad, model.w_dec
        g.sub_((g * w).sum(1, keepdim=True) * w)
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    with torch.no_grad():
        model.w_dec.div_(model.w_dec.norm(dim=1, keepdim=True).clamp_min(1e-12))
        counts.add_(values.shape[0])
        counts.index_fill_(0, indices[values > 0], 0)
        dead = (counts > 10_000_000).sum()
        return torch.stack([total.detach(), mse.detach(), kld.detach(), latent_kld.detach(), dead.float()]).double().cpu()


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(d, n, k, b, m, steps, decoder, device):
    generator = torch.Generator(device=device).manual_seed(1)
    batches = [(unit_rows(b, d, generator, device), unit_rows(b * m, d, generator, device)) for _ in range(steps + 1)]
    sample = torch.cat([batches[0][0], batches[0][1]])
    variance = sample.var(dim=0, unbiased=False).mean().item()
    scores = torch.bmm(batches[0][1].view(b, m, d), batches[0][0].unsqueeze(-1)).squeeze(-1)
    tau = scores.std(dim=1).mean().item()                               # τ: 1 × the neighbors' score spread, as SaeMl's default
    model = Sae(d, n, k, sample.mean(0), generator, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=4e-4)
    counts = torch.zeros(n, device=device)
    times = []
    for i, (queries, documents) in enumerate(batches):
        synchronize(device)
        start = time.perf_counter()
        train_step(model, optimizer, counts, queries, documents, m, decoder, variance, tau, 1.0, 10.0)
        synchronize(device)
        if i > 0:                                                       # the first step warms up
            times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else float("nan")
    return statistics.median(times), peak


def time_product(rows, d, n, steps, device):
    generator = torch.Generator(device=device).manual_seed(2)
    a, w = torch.randn(rows, d, generator=generator, device=device), torch.randn(n, d, generator=generator, device=device)
    times = []
    for _ in range(steps + 1):
        synchronize(device)
        start = time.perf_counter()
        a @ w.T
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dimension", type=int, default=768)
    parser.add_argument("--latents", default="16384,65536")
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--neighbors", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--decoders", default="dense,gather,bag")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    d, b, m, k = args.dimension, args.batch_size, args.neighbors, args.k
    vectors = b * (1 + m)
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"### PyTorch {torch.__version__} reference, {name}: d = {d}, B = {b} queries with M = {m} documents ({vectors:,} vectors a step), K = {k}")
    print(f"Median of {args.steps} timed steps after a warm-up step; TF32 matmul {torch.backends.cuda.matmul.allow_tf32}.")
    print()
    print("| n | decoder | step (s) | vectors/s | plain product [N×d]·[d×n] (s) | step ÷ product | peak GPU memory |")
    print("|---|---|---|---|---|---|---|")
    for n in (int(v) for v in args.latents.split(",")):
        product = time_product(vectors, d, n, args.steps, device)
        for decoder in args.decoders.split(","):
            try:
                step, peak = time_steps(d, n, k, b, m, args.steps, decoder, device)
                print(f"| {n:,} | {decoder} | {step:.4f} | {vectors / step:,.0f} | {product:.4f} | {step / product:.1f} | {peak:,.0f} MiB |", flush=True)
            except torch.cuda.OutOfMemoryError:
                print(f"| {n:,} | {decoder} | out of memory | | {product:.4f} | | |", flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()


if __name__ == "__main__":
    main()
