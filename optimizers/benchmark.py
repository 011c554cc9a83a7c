"""Time one ``step()`` of every optimizer against torch's own Adam, side by side.

The parameter set imitates a CNN: about ``--million`` million float32 values in
about a hundred tensors (conv kernels, linear weights, biases, norm scales),
dense gradients. Each optimizer is timed interleaved with the baseline (torch
``Adam(foreach=True)`` on the CPU, ``Adam(fused=True)`` on CUDA) in the same
process, and the median ratio of many repetitions is reported, together with
the ratio of the optimizer's time to its memory-traffic lower bound: the bytes
one step must read and write divided by the measured copy bandwidth.

    python -m optimizers.benchmark                # CPU, 20 M parameters
    python -m optimizers.benchmark --device cuda  # GPU, against fused Adam
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from optimizers.registry import REGISTRY


def cnn_like_shapes(million: float) -> list[tuple[int, ...]]:
    """About ``million``·10⁶ values in ~100 tensors shaped like a ResNet's."""
    widths = [64, 64, 128, 128, 256, 256, 512, 512]
    shapes: list[tuple[int, ...]] = []
    for i, width in enumerate(widths):
        previous = widths[i - 1] if i else 3
        for block in range(3):
            fan_in = previous if block == 0 else width
            shapes += [(width, fan_in, 3, 3), (width,), (width,), (width,)]
    shapes += [(1000, 512), (1000,)]
    total = sum(torch.Size(s).numel() for s in shapes)
    factor = (million * 1e6 / total) ** 0.5
    scaled = []
    for shape in shapes:
        if len(shape) == 4:
            scaled.append(
                (max(1, round(shape[0] * factor)), max(1, round(shape[1] * factor)), 3, 3)
            )
        else:
            scaled.append(tuple(max(1, round(n * factor)) for n in shape))
    return scaled


def make_parameters(
    shapes: Sequence[tuple[int, ...]], device: torch.device, seed: int = 0
) -> list[torch.Tensor]:
    gen = torch.Generator(device="cpu").manual_seed(seed)
    params = []
    for shape in shapes:
        p = torch.randn(shape, generator=gen).to(device)
        p.grad = torch.randn(shape, generator=gen).to(device)
        params.append(p)
    return params


def _timer(device: torch.device) -> Callable[[Callable[[], object]], float]:
    def timed(fn: Callable[[], object]) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    return timed


def copy_bandwidth(device: torch.device, numel: int, repeats: int = 10) -> float:
    """Bytes per second of ``dst.copy_(src)`` (one read plus one write per element)."""
    src = torch.randn(numel, device=device)
    dst = torch.empty_like(src)
    timed = _timer(device)
    best = min(timed(lambda: dst.copy_(src)) for _ in range(repeats))
    return 2 * src.element_size() * numel / best


def traffic_bytes(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]) -> int:
    """Lower bound on the bytes one step moves: read θ, g and the state, write θ and the state."""
    total = 0
    for p in params:
        state_bytes = sum(
            v.numel() * v.element_size()
            for v in optimizer.state[p].values()
            if isinstance(v, torch.Tensor)
        )
        total += 3 * p.numel() * p.element_size() + 2 * state_bytes
    return total


def baseline_factory(device: torch.device) -> Callable[[list[torch.Tensor]], torch.optim.Optimizer]:
    if device.type == "cuda":
        return lambda ps: torch.optim.Adam(ps, lr=1e-3, fused=True)
    return lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True)


def benchmark(
    names: Sequence[str], device: torch.device, million: float, repeats: int
) -> list[dict[str, float | str]]:
    shapes = cnn_like_shapes(million)
    timed = _timer(device)
    bandwidth = copy_bandwidth(device, numel=int(million * 1e6))
    baseline_params = make_parameters(shapes, device)
    baseline = baseline_factory(device)(baseline_params)
    for _ in range(3):
        baseline.step()
    rows = []
    for name in names:
        params = make_parameters(shapes, device)
        optimizer = REGISTRY[name].torch_class(params, lr=1e-3)
        for _ in range(3):
            optimizer.step()
        ratios, seconds = [], []
        for _ in range(repeats):
            base = timed(baseline.step)
            ours = timed(optimizer.step)
            ratios.append(ours / base)
            seconds.append(ours)
        bound = traffic_bytes(optimizer, params) / bandwidth
        median = statistics.median(seconds)
        rows.append(
            {
                "optimizer": name,
                "ms_per_step": 1e3 * median,
                "ratio_to_torch_adam": statistics.median(ratios),
                "ratio_to_traffic_bound": median / bound,
            }
        )
        print(
            f"{name:<15}{1e3 * median:>10.2f} ms{rows[-1]['ratio_to_torch_adam']:>10.2f}x"
            f"{rows[-1]['ratio_to_traffic_bound']:>10.2f}x",
            flush=True,
        )
        del optimizer, params
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--million", type=float, default=20.0, help="parameters, in millions")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--only", default="", help="comma-separated optimizer names")
    parser.add_argument("--out", type=Path, default=None, help="write the table as JSON here")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    names = [n for n in args.only.split(",") if n] or list(REGISTRY)
    baseline = "fused" if device.type == "cuda" else "foreach"
    print(
        f"{args.million:g} M float32 parameters on {device} ({torch.__version__}); "
        f"ratios to torch.optim.Adam({baseline}=True), median of {args.repeats}"
    )
    print(f"{'optimizer':<15}{'step':>13}{'vs Adam':>11}{'vs bound':>10}")
    rows = benchmark(names, device, args.million, args.repeats)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"device": str(device), "million": args.million, "rows": rows}
        if device.type == "cuda":
            payload["device_name"] = torch.cuda.get_device_name(device)
        args.out.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
