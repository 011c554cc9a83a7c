"""Time one ``step()`` of every optimizer against torch's own Adam, side by side.

The parameter set imitates a CNN: about ``--million`` million float32 values in
about a hundred tensors (conv kernels, linear weights, biases, norm scales),
dense gradients. Each optimizer is timed interleaved with the baseline (torch
``Adam(foreach=True)`` on the CPU, ``Adam(fused=True)`` on CUDA) in the same
process, and the median ratio of many repetitions is reported, together with
the ratio of the optimizer's time to its memory-traffic lower bound: the bytes
one step must read and write divided by the measured copy bandwidth. On the
CPU each row also shows the target of issue 9 and whether the median meets it.

    python -m optimizers.benchmark                     # CPU, 20 M parameters
    python -m optimizers.benchmark --device cuda       # GPU, against fused Adam
    python -m optimizers.benchmark --out results/bench.json   # also bench.md
    python -m optimizers.benchmark --only Adam,Aida --million 5 --repeats 31
    python -m optimizers.benchmark --suite             # + the suite's own run times
    python -m optimizers.benchmark --churn             # training-like allocator state

Absolute times move with whatever else the machine runs; the interleaved
ratios much less (both sides of a pair see the same conditions), which is why
the table is about ratios and shows their quartiles.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch._dynamo

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


def timer(device: torch.device) -> Callable[[Callable[[], object]], float]:
    """A function that times one call of its argument in seconds, the device synchronised
    before and after (CUDA work is asynchronous)."""

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
    timed = timer(device)
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


CPU_TARGETS: dict[str, tuple[str, float]] = {
    # Issue 9, "Targets on this CPU": step time over torch's foreach Adam.
    **dict.fromkeys(
        ("AdamNorm", "DiffGradNorm", "RAdamNorm", "AdaBeliefNorm", "AdaBelief", "DiffGrad"),
        ("<=", 1.1),
    ),
    "RAdam": ("<=", 1.1),
    "LAdam": ("<", 1.0),
    "LAdaBelief": ("<", 1.0),
    "Aida": ("<=", 1.5),
    **dict.fromkeys(("NDAdam", "AdaRem", "AdaRemS"), ("<=", 1.3)),
}


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4)
    return q1, q3


def activation_churn(device: torch.device, numel: int) -> Callable[[], None]:
    """Allocate and free tensors of mixed sizes, ``numel`` values in all, as a forward
    and backward pass do with their activations between two optimizer steps.

    It changes the baseline: in an optimizer-only process the C allocator hands
    the freed temporaries of torch's step back to the system, so each step pays
    page faults for them; after such churn the memory stays mapped and the
    temporaries are cheap, as in training. Our steps allocate nothing large.
    """
    fractions = (0.2, 0.1, 0.4, 0.05, 0.15, 0.3, 0.025, 0.1)
    scale = numel / sum(fractions)

    def churn() -> None:
        live = [torch.empty(int(f * scale), device=device).fill_(1.0) for f in fractions]
        del live

    return churn


def time_against_baseline(
    step: Callable[[], object],
    baseline_step: Callable[[], object],
    repeats: int,
    device,
    between: Callable[[], None] = lambda: None,
) -> tuple[list[float], list[float]]:
    """``repeats`` interleaved pairs: the ratios ours/baseline and our seconds.

    The order inside a pair alternates, so neither side always runs right after
    the other has filled (or flushed) the caches; ``between`` runs, untimed,
    before every step of either side.
    """
    timed = timer(device)

    def after_between(fn: Callable[[], object]) -> float:
        between()
        return timed(fn)

    ratios, seconds = [], []
    for k in range(repeats):
        if k % 2:
            ours, base = after_between(step), after_between(baseline_step)
        else:
            base, ours = after_between(baseline_step), after_between(step)
        ratios.append(ours / base)
        seconds.append(ours)
    return ratios, seconds


def benchmark(
    names: Sequence[str], device: torch.device, million: float, repeats: int, churn: bool = False
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One row per optimizer, and the baseline's own row."""
    shapes = cnn_like_shapes(million)
    between = activation_churn(device, int(million * 1e6)) if churn else (lambda: None)
    bandwidth = copy_bandwidth(device, numel=int(million * 1e6))
    baseline_params = make_parameters(shapes, device)
    baseline = baseline_factory(device)(baseline_params)
    for _ in range(3):
        baseline.step()
    base_seconds = []
    rows = []
    for name in names:
        params = make_parameters(shapes, device)
        optimizer = REGISTRY[name].torch_class(params, lr=1e-3)
        for _ in range(3):
            optimizer.step()
        ratios, seconds = time_against_baseline(
            optimizer.step, baseline.step, repeats, device, between
        )
        base_seconds += [s / r for s, r in zip(seconds, ratios, strict=True)]
        median = statistics.median(seconds)
        ratio = statistics.median(ratios)
        q1, q3 = _quartiles(ratios)
        target = CPU_TARGETS.get(name) if device.type == "cpu" else None
        met = None
        if target is not None:
            met = ratio <= target[1] if target[0] == "<=" else ratio < target[1]
        rows.append(
            {
                "optimizer": name,
                "ms_per_step": 1e3 * median,
                "ratio_to_torch_adam": ratio,
                "ratio_q1": q1,
                "ratio_q3": q3,
                "ratio_to_traffic_bound": median / (traffic_bytes(optimizer, params) / bandwidth),
                "target": None if target is None else f"{target[0]} {target[1]:g}",
                "met": met,
            }
        )
        print(_format_row(rows[-1]), flush=True)
        del optimizer, params
    base_median = statistics.median(base_seconds) if base_seconds else float("nan")
    baseline_row = {
        "optimizer": f"torch Adam ({'fused' if device.type == 'cuda' else 'foreach'})",
        "ms_per_step": 1e3 * base_median,
        "ratio_to_traffic_bound": base_median
        / (traffic_bytes(baseline, baseline_params) / bandwidth),
        "copy_bandwidth_gb_s": bandwidth / 1e9,
    }
    return rows, baseline_row


MODES: dict[str, dict[str, Any]] = {
    "foreach": {},
    "capturable": {"capturable": True},
    "fused": {"fused": True},
}
"""The execution modes of our optimizers the layout benchmark compares (docs/PERFORMANCE.md)."""


def resnet18_layout(classes: int = 10) -> list[tuple[int, ...]]:
    """The parameter shapes of ``experiments.models``' ResNet18 (the CIFAR variant; the
    optimizers layer may not import the experiments layer, so a test checks they agree)."""
    shapes: list[tuple[int, ...]] = [(64, 3, 3, 3), (64,), (64,)]
    previous = 64
    for width in (64, 128, 256, 512):
        for block in range(2):
            fan_in = previous if block == 0 else width
            shapes += [(width, fan_in, 3, 3), (width,), (width,)]
            shapes += [(width, width, 3, 3), (width,), (width,)]
            if fan_in != width:  # the projection shortcut and its norm
                shapes += [(width, fan_in, 1, 1), (width,), (width,)]
        previous = width
    return [*shapes, (classes, 512), (classes,)]


def vgg11_layout(classes: int = 10) -> list[tuple[int, ...]]:
    """The parameter shapes of ``experiments.models``' VGG11 (conv with bias, batch norm)."""
    shapes: list[tuple[int, ...]] = []
    previous = 3
    for width in (64, 128, 256, 256, 512, 512, 512, 512):
        shapes += [(width, previous, 3, 3), (width,), (width,), (width,)]
        previous = width
    return [*shapes, (classes, 512), (classes,)]


LAYOUT_SHAPES: dict[str, Callable[[], list[tuple[int, ...]]]] = {
    "resnet18": resnet18_layout,
    "vgg11": vgg11_layout,
}


def floor_bytes_per_parameter(
    optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]
) -> float:
    """The memory-traffic floor of one step, in bytes per parameter.

    :func:`traffic_bytes` (read θ, g and the state, write θ and the state) plus one
    more read of a parameter-sized tensor for each that a unit must reduce before the
    pointwise update can run (``Unit.reduction_reads``: ‖g‖ for AdaNorm, ⟨m, g⟩ for
    Aida, ...). Adam in float32: 28 bytes.
    """
    recipe = getattr(type(optimizer), "recipe", ())
    extra = sum(unit.reduction_reads for unit in recipe) * sum(
        p.numel() * p.element_size() for p in params
    )
    return (traffic_bytes(optimizer, params) + extra) / sum(p.numel() for p in params)


def fused_compile_seconds(
    build: Callable[[], torch.optim.Optimizer], device: torch.device
) -> tuple[torch.optim.Optimizer, float, float]:
    """A fused optimizer ready to time, and its compile time cold and warm.

    The first step runs eagerly (it creates the state); the second compiles. Cold: the
    first optimizer of its recipe in the process (the inductor cache is a fresh directory,
    see :func:`layout_benchmark`); warm: a second instance. The flat step's graph does not
    depend on tensor sizes, so a later instance, at this layout or another, finds it in
    dynamo's cache and compiles nothing (a second layout's "cold" figure is that too).
    Each figure includes that one step.
    """
    timed = timer(device)
    optimizer = build()
    optimizer.step()
    cold = timed(optimizer.step)
    again = build()
    again.step()
    warm = timed(again.step)
    del again
    return optimizer, cold, warm


def layout_benchmark(
    names: Sequence[str],
    device: torch.device,
    layouts: Sequence[str],
    modes: Sequence[str],
    repeats: int,
) -> list[dict[str, Any]]:
    """Per layout, optimizer and mode: step time against torch's foreach and fused Adam.

    All participants of one optimizer (torch Adam foreach and fused, our modes) step in
    every round, in an order that rotates from round to round, so each ratio compares
    steps taken under the same conditions; the row gives the median ratio and its
    quartiles. The floor is :func:`floor_bytes_per_parameter` over the measured copy
    bandwidth.
    """
    rows = []
    for layout in layouts:
        shapes = LAYOUT_SHAPES[layout]()
        numel = sum(torch.Size(s).numel() for s in shapes)
        bandwidth = copy_bandwidth(device, numel)
        torch_params = {k: make_parameters(shapes, device) for k in ("foreach", "fused")}
        torch_adam = {
            k: torch.optim.Adam(ps, lr=1e-3, **{k: True}) for k, ps in torch_params.items()
        }
        for optimizer in torch_adam.values():
            optimizer.step()
        adam_floor = floor_bytes_per_parameter(torch_adam["foreach"], torch_params["foreach"])
        for name in names:
            cls = REGISTRY[name].torch_class
            ours: dict[str, torch.optim.Optimizer] = {}
            compile_times: dict[str, tuple[float, float]] = {}
            for mode in modes:
                build = _builder(cls, shapes, device, MODES[mode])
                if mode == "fused":
                    optimizer, cold, warm = fused_compile_seconds(build, device)
                    compile_times[mode] = (cold, warm)
                else:
                    optimizer = build()
                    optimizer.step()
                ours[mode] = optimizer
            seconds = _interleaved(
                {**{f"torch {k}": v for k, v in torch_adam.items()}, **ours}, repeats, device
            )
            for mode, optimizer in ours.items():
                params = [p for g in optimizer.param_groups for p in g["params"]]
                floor = floor_bytes_per_parameter(optimizer, params)
                mine = seconds[mode]
                row = {
                    "layout": layout,
                    "parameters": numel,
                    "tensors": len(shapes),
                    "optimizer": name,
                    "mode": mode,
                    "ms_per_step": 1e3 * statistics.median(mine),
                    "floor_bytes_per_parameter": floor,
                    "ratio_to_floor": statistics.median(mine) / (floor * numel / bandwidth),
                    "compile_cold_s": compile_times.get(mode, (None, None))[0],
                    "compile_warm_s": compile_times.get(mode, (None, None))[1],
                }
                for k in ("foreach", "fused"):
                    ratios = [a / b for a, b in zip(mine, seconds[f"torch {k}"], strict=True)]
                    row[f"ratio_to_torch_{k}"] = statistics.median(ratios)
                    row[f"ratio_to_torch_{k}_quartiles"] = _quartiles(ratios)
                rows.append(row)
                print(_format_layout_row(row), flush=True)
            del ours
        for k in torch_adam:
            rows.append(
                {
                    "layout": layout,
                    "parameters": numel,
                    "tensors": len(shapes),
                    "optimizer": "torch Adam",
                    "mode": k,
                    "ms_per_step": None,
                    "floor_bytes_per_parameter": adam_floor,
                    "copy_bandwidth_gb_s": bandwidth / 1e9,
                }
            )
    return rows


def _builder(
    cls: type, shapes: Sequence[tuple[int, ...]], device: torch.device, options: dict[str, Any]
) -> Callable[[], torch.optim.Optimizer]:
    return lambda: cls(make_parameters(shapes, device), **options)


def _interleaved(
    participants: dict[str, torch.optim.Optimizer], repeats: int, device: torch.device
) -> dict[str, list[float]]:
    """Seconds per step of each participant over ``repeats`` rounds, the order rotating."""
    timed = timer(device)
    order = list(participants)
    seconds: dict[str, list[float]] = {k: [] for k in order}
    for round_ in range(repeats):
        shift = round_ % len(order)
        for key in order[shift:] + order[:shift]:
            seconds[key].append(timed(participants[key].step))
    return seconds


LAYOUT_HEADER = (
    "| layout | optimizer | mode | ms/step | vs torch Adam foreach | vs torch Adam fused "
    "| floor B/param | vs floor | compile cold / warm |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|",
)


def _format_layout_row(row: dict[str, Any]) -> str:
    def ratio(k: str) -> str:
        q1, q3 = row[f"ratio_to_torch_{k}_quartiles"]
        return f"{row[f'ratio_to_torch_{k}']:.2f}x ({q1:.2f}-{q3:.2f})"

    compile_time = ""
    if row["compile_cold_s"] is not None:
        compile_time = f"{row['compile_cold_s']:.1f} s / {row['compile_warm_s']:.1f} s"
    return (
        f"| {row['layout']} | {row['optimizer']} | {row['mode']} | {row['ms_per_step']:.1f} | "
        f"{ratio('foreach')} | {ratio('fused')} | {row['floor_bytes_per_parameter']:.0f} | "
        f"{row['ratio_to_floor']:.2f}x | {compile_time} |"
    )


HEADER = (
    "| optimizer | ms/step | vs torch Adam (median) | quartiles | vs traffic bound | target |",
    "|---|---:|---:|---:|---:|---|",
)


def _format_row(row: dict[str, Any]) -> str:
    target = ""
    if row.get("target"):
        target = f"{row['target']} {'met' if row['met'] else 'MISSED'}"
    ratio = row.get("ratio_to_torch_adam")
    spread = f"{row['ratio_q1']:.2f}-{row['ratio_q3']:.2f}" if ratio is not None else ""
    return (
        f"| {row['optimizer']} | {row['ms_per_step']:.1f} | "
        f"{'1' if ratio is None else f'{ratio:.2f}'}x | {spread} | "
        f"{row['ratio_to_traffic_bound']:.2f}x | {target} |"
    )


# The suite's own budgets (issue 9, item 3). Each command runs from the
# repository root with its output in a temporary directory.
SUITE: tuple[tuple[str, float, list[str], dict[str, str]], ...] = (
    (
        "invariants, ci profile (pytest -n 2)",
        600.0,
        ["-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider"]
        + [f"tests/test_invariants_{part}.py" for part in ("claims", "spec", "strategies")],
        {"HYPOTHESIS_PROFILE": "ci", "INVARIANTS_RESULTS": "{tmp}"},
    ),
    (
        "quick verification report",
        180.0,
        ["-m", "experiments.report", "--quick", "--fresh", "--out", "{tmp}/report"],
        {"INVARIANTS_RESULTS": "{tmp}"},
    ),
    (
        "regret, T = 10^6 x 100 instances",
        60.0,
        [
            "-m",
            "experiments.regret",
            "--full",
            "--fresh",
            "--no-plots",
            "--quiet",
            "--out",
            "{tmp}",
        ],
        {},
    ),
)


def time_suite() -> list[dict[str, Any]]:
    """Wall time of each suite command against its budget (minutes: opt-in with --suite)."""
    root = Path(__file__).resolve().parents[1]
    rows = []
    for label, budget, command, env in SUITE:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, *(part.format(tmp=tmp) for part in command)],
                cwd=root,
                env=os.environ | {k: v.format(tmp=tmp) for k, v in env.items()},
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - start
        status = "failed" if done.returncode else ("ok" if seconds <= budget else "over budget")
        rows.append({"part": label, "seconds": seconds, "budget_s": budget, "status": status})
        print(f"| {label} | {seconds:.0f} s | {budget:.0f} s | {status} |", flush=True)
        if done.returncode:
            print(done.stdout[-2000:] + done.stderr[-2000:], file=sys.stderr)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--million", type=float, default=20.0, help="parameters, in millions")
    parser.add_argument("--repeats", type=int, default=21, help="interleaved pairs per row")
    parser.add_argument("--only", default="", help="comma-separated optimizer names")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument(
        "--out", type=Path, default=None, help="write the table here as JSON (and .md beside it)"
    )
    parser.add_argument(
        "--churn",
        action="store_true",
        help="allocate and free activation-sized tensors before every step, as training does",
    )
    parser.add_argument("--suite", action="store_true", help="also time the suite (minutes)")
    parser.add_argument(
        "--layouts",
        default="",
        help="comma-separated model layouts (resnet18,vgg11): time every --modes of each "
        "optimizer there against torch's foreach and fused Adam, with compile times",
    )
    parser.add_argument(
        "--modes", default=",".join(MODES), help="execution modes for --layouts (default: all)"
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    names = [n for n in args.only.split(",") if n] or list(REGISTRY)
    if args.layouts:
        return _main_layouts(args, device, names)
    baseline = "fused" if device.type == "cuda" else "foreach"
    title = (
        f"{args.million:g} M float32 parameters in {len(cnn_like_shapes(args.million))} tensors "
        f"on {torch.cuda.get_device_name(device) if device.type == 'cuda' else device} "
        f"({os.cpu_count()} CPUs, {torch.get_num_threads()} threads, torch {torch.__version__}"
        f"{', activation churn between steps' if args.churn else ''}); "
        f"ratios to torch.optim.Adam({baseline}=True), median of {args.repeats} interleaved pairs"
    )
    print(title)
    print(*HEADER, sep="\n")
    rows, baseline_row = benchmark(names, device, args.million, args.repeats, args.churn)
    print(_format_row(baseline_row))
    suite = []
    if args.suite:
        print("\n| suite part | wall time | budget | status |\n|---|---:|---:|---|")
        suite = time_suite()
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "device": str(device),
            "title": title,
            "million": args.million,
            "repeats": args.repeats,
            "threads": torch.get_num_threads(),
            "activation_churn": args.churn,
            "rows": rows,
            "baseline": baseline_row,
            "suite": suite,
        }
        if device.type == "cuda":
            payload["device_name"] = torch.cuda.get_device_name(device)
        args.out.write_text(json.dumps(payload, indent=2))
        lines = [title, "", *HEADER, *map(_format_row, rows), _format_row(baseline_row)]
        if suite:
            lines += ["", "| suite part | wall time | budget | status |", "|---|---:|---:|---|"]
            lines += [
                f"| {r['part']} | {r['seconds']:.0f} s | {r['budget_s']:.0f} s | {r['status']} |"
                for r in suite
            ]
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


def _main_layouts(args: argparse.Namespace, device: torch.device, names: list[str]) -> int:
    layouts = [x for x in args.layouts.split(",") if x]
    modes = [x for x in args.modes.split(",") if x]
    unknown = sorted(set(layouts) - set(LAYOUT_SHAPES)) + sorted(set(modes) - set(MODES))
    if unknown:
        print(f"unknown layout or mode: {', '.join(unknown)}", file=sys.stderr)
        return 2
    # Cold compile times need an empty inductor cache; many optimizers compile the same
    # step method, each a cache entry of its own.
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-bench-")
    torch._dynamo.config.recompile_limit = 4096
    torch._dynamo.config.accumulated_recompile_limit = 4096
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
    title = (
        f"Layouts {', '.join(layouts)} on {where} ({os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}); every participant "
        f"of an optimizer steps in each of {args.repeats} rounds (order rotating); ratios "
        "are medians of per-round ratios (quartiles in brackets); compile times include "
        "one step, cold on an empty inductor cache"
    )
    print(title)
    print(*LAYOUT_HEADER, sep="\n")
    rows = layout_benchmark(names, device, layouts, modes, args.repeats)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"device": str(device), "title": title, "repeats": args.repeats, "rows": rows}
        if device.type == "cuda":
            payload["device_name"] = torch.cuda.get_device_name(device)
        args.out.write_text(json.dumps(payload, indent=2))
        measured = [r for r in rows if r["ms_per_step"] is not None]
        lines = [title, "", *LAYOUT_HEADER, *map(_format_layout_row, measured)]
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
