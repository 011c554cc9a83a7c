"""``python -m experiments.regret``: online-convex regret experiments for AN-7, AN-8, AR-7.

    python -m experiments.regret                  # --quick: minutes on 2 cores
    python -m experiments.regret --full           # T = 10^6 × 100 instances (linear families)
    python -m experiments.regret --claims AN-7 --problems reddi-periodic
    python -m experiments.regret --problems reddi-periodic --instances 1 --first-seed 3 \\
        --horizon 500000

Writes ``<out>/regret.json`` (the verdicts, common results format),
``<out>/regret/<size>/<problem>.{json,npz}`` (per-problem results, reused on a
rerun with the same configuration unless ``--fresh``; ``<size>`` is quick, full,
or custom with ``--horizon``/``--instances``) and
``<out>/regret/<size>/<problem>_{regret,iterates}.png``. The exit status is 0
whatever the verdicts: a falsified claim is a result; 2 for a usage error (an
unknown claim or problem, a size out of range), before anything runs. A damaged
stored result is computed again, with a warning naming the file.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from experiments.regret import store
from experiments.regret.claims import VERDICTS
from experiments.regret.config import PROBLEMS, Size, make_arms
from experiments.regret.plots import plot_problem
from experiments.regret.runner import run_problem
from experiments.regret.stage import REGRET
from experiments.regret.summary import summarise
from optimizers.arguments import int_at_least


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.regret", description=__doc__.splitlines()[0]
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the default size (minutes on 2 cores)")
    mode.add_argument(
        "--full",
        action="store_true",
        help="T = 10^6 × 100 instances for the Reddi families (sizes: regret/config.py)",
    )
    REGRET.add_claims_option(parser)
    parser.add_argument(
        "--problems", default="", help=f"comma-separated subset of {', '.join(PROBLEMS)}"
    )
    parser.add_argument("--out", default="results/", help="output directory (default: results/)")
    parser.add_argument("--fresh", action="store_true", help="ignore stored per-problem results")
    parser.add_argument(
        "--horizon", type=int_at_least(10), default=None, help="override T for every problem"
    )
    parser.add_argument(
        "--instances",
        type=int_at_least(1),
        default=None,
        help="override the number of instances",
    )
    parser.add_argument(
        "--first-seed",
        type=int_at_least(0),
        default=0,
        help="instance seeds start here (default 0)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    args.mode = "full" if args.full else "quick"
    custom = args.horizon is not None or args.instances is not None or args.first_seed != 0
    args.size_dir = "custom" if custom else args.mode
    args.claim_list = REGRET.parse_claims(parser, args.claims)
    args.problem_list = [p.strip() for p in args.problems.split(",") if p.strip()] or list(PROBLEMS)
    unknown = [p for p in args.problem_list if p not in PROBLEMS]
    if unknown:
        parser.error(f"unknown problem {unknown}; known: {', '.join(PROBLEMS)}")
    return args


def _size(args: argparse.Namespace, key: str) -> Size:
    base = PROBLEMS[key].sizes[args.mode]
    return Size(args.horizon or base.T, args.instances or base.instances)


def _mode_flag(args: argparse.Namespace) -> str:
    # the verdicts' reproduce commands name the mode; overrides are spelled out in the replays
    return args.mode


def _table(summaries: dict[str, dict]) -> Table:
    table = Table(title="regret: growth exponent of R(T) on [T/100, T] (95% CI), R(T)/T, bounds")
    for col in ("problem", "arm", "exponent (CI)", "R(T)/T", "bound respected", "‖θ_T-θ*‖∞"):
        table.add_column(col)
    for key, s in summaries.items():
        for arm in s["arms"]:
            fit = arm["exponent"]
            if fit["n_fitted"] == 0:
                exp = "R ≤ 0"
            else:
                exp = f"{fit['mean']:.3f} ({fit['ci'][0]:.3f}..{fit['ci'][1]:.3f})"
                if fit["n_nonpositive"]:
                    exp += f" [{fit['n_nonpositive']} seeds R≤0]"
            bounds = []
            for name in ("wacv", "arxiv", "adarem", "zinkevich"):
                if name in arm["bounds"]:
                    ok = arm["bounds"][name]["respected"]
                    bounds.append(f"{name}:{'yes' if ok else 'NO'}")
            table.add_row(
                key,
                arm["label"],
                exp,
                f"{arm['R_T_over_T']['mean']:+.3g}",
                " ".join(bounds) or "-",
                f"{arm['final_iterate']['distance_inf_mean']:.3g}",
            )
    return table


def main(argv: list[str] | None = None) -> int:
    """Run (or reuse) every selected problem, then write the verdicts and print the table."""
    args = _parse(argv)
    console = Console(stderr=True, quiet=args.quiet)
    started = time.perf_counter()
    summaries: dict[str, dict] = {}
    plans: list[tuple[str, Any, list, Size, dict]] = []
    for key in args.problem_list:
        spec = PROBLEMS[key]
        problem = spec.build()
        arms = make_arms(spec, problem)
        size = _size(args, key)
        seeds = list(range(args.first_seed, args.first_seed + size.instances))
        config = {
            "problem": problem.describe() | {"beta1": spec.beta1, "beta2": spec.beta2},
            "arms": [{"label": arm.label, **arm.algorithm.describe()} for arm in arms],
            "T": size.T,
            "seeds": seeds,
        }
        stored = None if args.fresh else store.load(args.out, args.size_dir, key, config)
        if stored is not None:
            summaries[key] = stored[0]
            console.print(
                f"[dim]{key}: reusing the stored result (T={size.T}, {len(seeds)} instances)"
            )
            continue
        plans.append((key, problem, arms, size, config))
    total = sum(size.T for _, _, _, size, _ in plans)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} steps"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=args.quiet or not plans,
    ) as progress:
        overall = progress.add_task("all problems", total=total)
        for key, problem, arms, size, config in plans:
            task = progress.add_task(f"{key} ({len(config['seeds'])} inst.)", total=size.T)

            def advance(n: int, task: Any = task) -> None:
                progress.advance(task, n)
                progress.advance(overall, n)

            raw = run_problem(problem, arms, size.T, config["seeds"], progress=advance)
            summary, arrays = summarise(problem, arms, raw)
            store.save(args.out, args.size_dir, key, config, summary, arrays)
            if not args.no_plots:
                plot_problem(key, summary, arrays, store.problem_dir(args.out, args.size_dir))
            summaries[key] = summary
            progress.update(task, visible=False)
            console.print(
                f"{key}: {raw.seconds:.1f}s, "
                f"{summary['throughput_arm_steps_x_instances_per_s']:.3g} arm-steps×instances/s"
            )
    mode = _mode_flag(args)
    results = [VERDICTS[c](summaries, mode, args.out.rstrip("/") + "/") for c in args.claim_list]
    for r in results:
        r.evidence["seconds_total"] = round(time.perf_counter() - started, 1)
        r.evidence["problems_covered"] = list(summaries)
    path = REGRET.write(results, args.out)
    out_console = Console(quiet=args.quiet, width=160)
    out_console.print(_table(summaries))
    for r in results:
        out_console.print(f"[bold]{r.claim_id}[/bold] {r.verdict}: {r.summary}")
    out_console.print(f"wrote {path} ({time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
