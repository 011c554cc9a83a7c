"""One prepared command for a short GPU lease: issue 17's measurements, then the campaign.

A GPU is lent here rarely, for about 15 minutes of device time in all (start-up and idle
time included), and one command may run 10 minutes. This module spends one command on what
the engine issue asks the device to decide and what the campaign turns into verdicts::

    python -m experiments.training.lease --out "$OUT" --data-dir .data --minutes 9.5

On the device machine (its ``python3`` holds its torch; nothing is installed there), once
here ``mkdir -p .data && cp ../shared/data/cifar10-jpeg.npz .data/ && echo /.data/ >>
.git/info/exclude``, then the device call is ``carry=[".data"]``, ``timeout_s=600`` and
``PYTHONUNBUFFERED=1 python3 -m experiments.training.lease --out "$OUT" --data-dir .data
--minutes 9.5``. The reply's output ends with the tables.

runs, in order (:func:`plan_steps`; ``--only``/``--skip`` choose among them):

1. ``ceilings``: the device, driver and clocks, and the two ceilings METHOD.md says to
   measure once: a bf16 matrix product's rate (8192³, random data) and a device-to-device
   copy's bandwidth (bytes read plus written). The matrix rate is the MFU's peak below;
2. ``cuda-tests``: ``tests/test_cuda.py`` (the engine's stacked runs against single runs,
   the fused and capturable steps against the eager ones, on the device);
3. ``throughput-resnet18`` and ``throughput-vgg11``: the engine's step at the papers' batch
   sizes, 1 and 8 runs, one after another against stacked (the design choice of issue 17 and
   its targets: 8 AdamNorm runs of ResNet18 at batch 64 >= 60,000 img/s in all, VGG11 at batch
   128 >= 150,000);
4. ``optimizer-shares``: every optimizer's share of the stacked step of 8 ResNet18 runs
   (the target: <= 15 % for each);
5. ``fused``: the same step with ``fused=True`` (the flat compiled step of issue 16);
   ``compiled``: 8 separate runs, each model through ``torch.compile(mode="reduce-overhead")``
   (its forward and backward replayed as CUDA graphs) with the fused step: the other design
   issue 17 names, against the stacked rows;
6. ``campaign``: :mod:`experiments.training.campaign` with the minutes that are left (less
   :data:`MARGIN_S`); arguments after ``--`` go to it (e.g. ``-- --only AN-9``).

Each step is a subprocess of this interpreter with its own cap (:class:`Step`), so a step that
fails or hangs costs its cap, not the call: it is recorded as failed or timed out and the next
one starts. After every step ``OUT/lease.json`` (command, environment, ceilings, every step's
status and seconds, the throughput rows) and ``OUT/lease.md`` (the same as tables) are
rewritten atomically, so a lease that ends early still returns what finished. Every step's
output goes to ``OUT/lease.log`` and to the terminal. With the campaign's bundle that is four
files, within the device tool's eight.

A 15-minute lease, by estimate (nothing here has run on the H200 yet): a start of one to two
minutes; this call at ``--minutes 9.5``, of which the measurements take about six (the CUDA
tests' three fused compiles and the ``compiled`` step most) and the campaign the rest; then, at
once while the machine is warm, ``--only campaign --minutes M`` with what is left: the
campaign resumes the runs the first call left unfinished under ``--runs``. The device empties
``$OUT`` before each call, and this session's tool copies the files back after each.

Back here, ``python -m experiments.training.lease record FILES_AT [--name NAME]`` records the
campaign's bundle as evidence (``recorded add``) and keeps ``lease.json``/``lease.md`` in the
same folder under ``experiments/training/recorded/``. ``--dry-run`` runs every step on the CPU
at toy sizes (the campaign's own dry run): what CI runs to keep this command working.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch

from experiments.data.loading import find_source
from optimizers.arguments import float_above, names_from
from optimizers.benchmark import copy_bandwidth, timer
from optimizers.registry import REGISTRY
from theory.verdicts import write_text_atomically

ROOT = Path(__file__).resolve().parents[2]
REPORT = "lease.json"
TABLES = "lease.md"
LOG = "lease.log"
CUDA_TESTS = "tests/test_cuda.py"
MARGIN_S = 30.0
"""Seconds kept back from the campaign for writing the last files and leaving in time."""
MIN_STEP_S = 10.0
"""Below this many seconds left, a measurement step is skipped rather than started."""
MIN_CAMPAIGN_S = 60.0
"""Below this many seconds left, the campaign is skipped: its own measurement takes ~20 s."""


@dataclass(frozen=True)
class Step:
    """One subprocess of the lease: its name, its arguments after ``python``, its cap in
    seconds, and the JSON file it writes (read back into ``lease.json``), if any."""

    name: str
    argv: tuple[str, ...]
    cap_s: float
    writes: str | None = None


@dataclass(frozen=True)
class Sizes:
    """The models, batches and repetitions of the measurements: the papers' on a GPU, toy
    ones for the CPU dry run."""

    device: str
    resnet: tuple[str, float, int]  # model, width, batch
    vgg: tuple[str, float, int]
    runs: str
    steps: int
    matrix: int
    copy_mib: int
    campaign: tuple[str, ...]


PAPER = Sizes(
    device="cuda", resnet=("resnet18", 1.0, 64), vgg=("vgg11", 1.0, 128), runs="1,8",
    steps=10, matrix=8192, copy_mib=2048, campaign=(),
)  # fmt: skip
DRY_RUN = Sizes(
    device="cpu", resnet=("small_cnn", 0.125, 8), vgg=("small_cnn", 0.125, 16), runs="1,2",
    steps=1, matrix=256, copy_mib=16,
    campaign=("--dry-run-model", "small_cnn", "--dry-run-width", "0.25", "--dry-run-images", "200"),
)  # fmt: skip


def plan_steps(sizes: Sizes, scratch: Path, peak_tflops: float | None) -> list[Step]:
    """The measurement steps in order (the campaign is added by :func:`run_lease`, with the
    time that is left). ``peak_tflops`` (the measured bf16 rate) gives the MFU column."""
    peak = f"--peak-tflops {peak_tflops:.4g}" if peak_tflops else ""
    most = sizes.runs.split(",")[-1]
    stacked, separate = f"--runs {most} --layouts stacked", f"--runs {most} --layouts separate"

    def throughput(name: str, shape: tuple[str, float, int], cap: float, extra: str) -> Step:
        model, width, batch = shape
        out = scratch / f"{name}.json"
        argv = (
            f"-m experiments.training.throughput --device {sizes.device} --model {model} "
            f"--width {width:g} --batch {batch} --steps {sizes.steps} {peak} {extra} --out"
        ).split()
        return Step(name, (*argv, str(out)), cap, str(out))

    ceilings = scratch / "ceilings.json"
    lease = f"-m experiments.training.lease --ceilings {sizes.device} {sizes.matrix}"
    return [
        Step("ceilings", (*f"{lease} {sizes.copy_mib}".split(), str(ceilings)), 60, str(ceilings)),
        Step("cuda-tests", tuple(f"-m pytest -q -p no:cacheprovider --durations=8 {CUDA_TESTS}"
                                 .split()), 180),
        throughput("throughput-resnet18", sizes.resnet, 150,
                   f"--runs {sizes.runs} --optimizers AdamNorm,Adam"),
        throughput("throughput-vgg11", sizes.vgg, 90, f"--runs {sizes.runs} --optimizers AdamNorm"),
        throughput("optimizer-shares", sizes.resnet, 150,
                   f"{stacked} --optimizers {','.join(REGISTRY)}"),
        throughput("fused", sizes.resnet, 120,
                   f"{stacked} --optimizers AdamNorm,Adam --options fused=True"),
        # Five warm-up steps: a compiled model recompiles once more after its first calls, and
        # reduce-overhead records its CUDA graphs on a later call than the first.
        throughput("compiled", sizes.resnet, 180,
                   f"{separate} --optimizers AdamNorm --options fused=True "
                   "--compile-model reduce-overhead --warmup 5"),
    ]  # fmt: skip


# --- the ceilings --------------------------------------------------------------------------


def measure_ceilings(device: torch.device, matrix: int, copy_mib: int) -> dict[str, Any]:
    """The device's bf16 matrix rate (TFLOP/s, one ``matrix``³ product on random data, the
    median of ten timed products after three warm-ups) and copy bandwidth (GB/s, bytes read
    plus written, ``copy_mib`` MiB of float32 copied, as :func:`optimizers.benchmark.
    copy_bandwidth` measures it for the optimizers' floors); plus what the device says of
    itself."""
    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(matrix, matrix, device=device, generator=generator, dtype=torch.bfloat16)
    b = torch.randn(matrix, matrix, device=device, generator=generator, dtype=torch.bfloat16)
    timed = timer(device)
    for _ in range(3):
        timed(lambda: torch.mm(a, b))
    matmul = statistics.median(timed(lambda: torch.mm(a, b)) for _ in range(10))
    found: dict[str, Any] = {
        "device": str(device),
        "torch": torch.__version__,
        "bf16_matmul_tflops": 2 * matrix**3 / matmul / 1e12,
        "copy_gb_per_s": copy_bandwidth(device, copy_mib * 2**18) / 1e9,
        "matrix": matrix,
        "copy_mib": copy_mib,
    }
    if device.type == "cuda":
        found["device_name"] = torch.cuda.get_device_name(device)
        found["cuda"] = torch.version.cuda
    smi = shutil.which("nvidia-smi")
    if smi:
        query = "name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw,memory.total"
        done = subprocess.run(
            [smi, f"--query-gpu={query}", "--format=csv"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        found["nvidia_smi"] = done.stdout.strip()
    return found


# --- running the steps ---------------------------------------------------------------------


def run_step(step: Step, log: TextIO, echo: TextIO) -> dict[str, Any]:
    """Run ``step`` in its own process group, its output line by line to ``log`` and ``echo``;
    at its cap the whole group is killed. Returns its status record."""
    command = [sys.executable, *step.argv]
    header = f"\n=== {step.name} (cap {step.cap_s:.0f} s): {shlex.join(['python', *step.argv])}\n"
    for stream in (log, echo):
        stream.write(header)
        stream.flush()
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    def copy_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            for stream in (log, echo):
                stream.write(line)
                stream.flush()

    reader = threading.Thread(target=copy_output, daemon=True)
    reader.start()
    try:
        returncode: int | None = process.wait(timeout=step.cap_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        returncode = None
    reader.join(timeout=10)
    seconds = time.perf_counter() - started
    status = "timed out" if returncode is None else "ok" if returncode == 0 else "failed"
    record: dict[str, Any] = {
        "step": step.name,
        "command": shlex.join(["python", *step.argv]),
        "status": status,
        "returncode": returncode,
        "seconds": round(seconds, 1),
    }
    if step.writes and status == "ok":
        try:
            record["result"] = json.loads(Path(step.writes).read_text())
        except (OSError, json.JSONDecodeError) as error:
            record["status"] = "failed"
            record["error"] = f"{step.writes}: {error}"
    return record


def run_lease(args: argparse.Namespace, echo: TextIO = sys.stdout) -> dict[str, Any]:
    """Every chosen step, then the campaign in what is left of ``args.minutes``; returns (and
    keeps rewriting) the lease's report. No step runs past the deadline (the minutes less
    :data:`MARGIN_S`): a step's cap is cut to what is left, and one that would get less than
    :data:`MIN_STEP_S` is skipped."""
    deadline = time.perf_counter() + args.minutes * 60 - MARGIN_S
    sizes = DRY_RUN if args.dry_run else PAPER
    out: Path = args.out
    # The steps' own files, read back into lease.json: outside OUT, whose files all come back.
    scratch = Path(tempfile.mkdtemp(prefix="lease-"))
    report: dict[str, Any] = {
        "command": shlex.join(["python", "-m", "experiments.training.lease", *args.argv]),
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "minutes": args.minutes,
        "environment": _environment(sizes.device),
        "steps": [],
    }
    chosen = _chosen(args)
    with open(out / LOG, "a", encoding="utf-8") as log:
        peak = None
        for name in [n for n in STEP_NAMES if n in chosen and n != "campaign"]:
            # Planned again for each step: the ceilings step gives the MFU's peak to the rest.
            step = {s.name: s for s in plan_steps(sizes, scratch, peak)}[name]
            left = deadline - time.perf_counter()
            if left < MIN_STEP_S:
                report["steps"].append(_skipped(name, left))
                continue
            record = run_step(dataclasses.replace(step, cap_s=min(step.cap_s, left)), log, echo)
            report["steps"].append(record)
            if step.name == "ceilings" and record["status"] == "ok":
                report["ceilings"] = record.pop("result")
                peak = report["ceilings"]["bf16_matmul_tflops"]
            _write_report(out, report)
        if "campaign" in chosen:
            left = deadline - time.perf_counter()
            if left < MIN_CAMPAIGN_S:
                report["steps"].append(_skipped("campaign", left))
            else:
                campaign = Step("campaign", _campaign_argv(args, sizes, left), left + MARGIN_S / 2)
                report["steps"].append(run_step(campaign, log, echo))
            _write_report(out, report)
    shutil.rmtree(scratch, ignore_errors=True)
    echo.write("\n" + markdown(report))
    return report


def _skipped(name: str, left: float) -> dict[str, Any]:
    return {"step": name, "status": "skipped", "reason": f"{max(left, 0):.0f} s left"}


def _campaign_argv(args: argparse.Namespace, sizes: Sizes, seconds: float) -> tuple[str, ...]:
    argv = [
        "-m",
        "experiments.training.campaign",
        "--budget-min",
        f"{seconds / 60:.2f}",
        "--device",
        sizes.device,
        "--out",
        str(args.out),
        "--runs",
        str(args.runs),
    ]
    if args.data_dir is not None:
        argv += ["--data-dir", str(args.data_dir)]
    return (*argv, *sizes.campaign, *args.campaign_args)


def _chosen(args: argparse.Namespace) -> list[str]:
    names = [*STEP_NAMES]
    if args.only:
        names = [n for n in names if n in args.only]
    return [n for n in names if n not in args.skip]


def _environment(device: str) -> dict[str, Any]:
    from experiments.training.campaign import environment

    return environment(torch.device(device))


def _write_report(out: Path, report: dict[str, Any]) -> None:
    write_text_atomically(out / REPORT, json.dumps(report, indent=1, default=float))
    write_text_atomically(out / TABLES, markdown(report))


def markdown(report: dict[str, Any]) -> str:
    """The lease as tables: the steps, the ceilings and each throughput step's rows."""
    from experiments.training.throughput import markdown as throughput_table

    lines = [f"# GPU lease {report['started']}", "", f"`{report['command']}`", ""]
    ceilings = report.get("ceilings")
    if ceilings:
        lines += [
            f"Ceilings on {ceilings.get('device_name', ceilings['device'])}: bf16 matrix "
            f"product {ceilings['bf16_matmul_tflops']:.3g} TFLOP/s ({ceilings['matrix']}³), "
            f"copy {ceilings['copy_gb_per_s']:.0f} GB/s (read + written).",
            "",
        ]
    lines += ["| step | status | seconds |", "|---|---|---|"]
    lines += [f"| {s['step']} | {s['status']} | {s.get('seconds', '')} |" for s in report["steps"]]
    for step in report["steps"]:
        result = step.get("result")
        if step["status"] == "ok" and isinstance(result, dict) and "rows" in result:
            settings = argparse.Namespace(**result["settings"])
            lines += ["", f"## {step['step']}", "", throughput_table(result["rows"], settings)]
    return "\n".join(lines) + "\n"


STEP_NAMES = (*[s.name for s in plan_steps(PAPER, Path("."), None)], "campaign")


# --- recording -----------------------------------------------------------------------------


def record(files_at: Path, name: str | None, root: Path | None = None) -> Path:
    """Record a lease's files (``files_at``: what the device tool brought back) under
    ``root``: the campaign's bundle as evidence (:func:`campaign.add`), with ``lease.json``
    and ``lease.md`` beside it; without a bundle, a folder of the measurements alone (no
    manifest: not evidence)."""
    from experiments.training import recorded
    from experiments.training.campaign import BUNDLE, add

    root = root or recorded.ROOT
    report = files_at / REPORT
    if not report.is_file():
        raise FileNotFoundError(f"{report}: not a lease's files (no {REPORT})")
    started = json.loads(report.read_text())["started"]
    name = name or f"lease-{started[:19].replace(':', '').replace('T', '-')}"
    if (files_at / BUNDLE).is_file():
        folder = add(files_at / BUNDLE, name=name, root=root)
    else:
        folder = root / name
        folder.mkdir(parents=True)  # refuses an existing folder: nothing is overwritten
    for kept in (REPORT, TABLES):
        if (files_at / kept).is_file():
            shutil.copyfile(files_at / kept, folder / kept)
    return folder


# --- command line --------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    campaign_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(
        prog="python -m experiments.training.lease", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="where the files go ($OUT)")
    parser.add_argument("--data-dir", type=Path, default=None, help="folder of cifar10-jpeg.npz")
    parser.add_argument("--minutes", type=float_above(0.0), default=9.5, help="the whole call")
    parser.add_argument(
        "--runs",
        type=Path,
        default=Path("/tmp/campaign-runs"),
        help="the campaign's run folders (outside --out: only files come back)",
    )
    parser.add_argument(
        "--only", type=names_from(STEP_NAMES, "step"), default=None, help="these steps only"
    )
    parser.add_argument(
        "--skip", type=names_from(STEP_NAMES, "step"), default=[], help="not these steps"
    )
    parser.add_argument("--dry-run", action="store_true", help="CPU, toy sizes (CI)")
    args = parser.parse_args(own)
    if not args.dry_run:
        if not torch.cuda.is_available():
            parser.error("torch sees no CUDA device (on the CPU, --dry-run)")
        # Checked now, not after the measurements: the campaign is the last step.
        wants_campaign = "campaign" in _chosen(args)
        if wants_campaign and (
            args.data_dir is None or find_source("cifar10", args.data_dir) is None
        ):
            parser.error(
                f"--data-dir {args.data_dir}: the campaign trains the papers' protocols on the "
                "full CIFAR-10, and this names no folder with cifar10-jpeg.npz"
            )
    args.campaign_args = campaign_args
    args.argv = argv
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--ceilings"]:  # the ceilings step, in its own process
        device, matrix, copy_mib, path = argv[1:5]
        found = measure_ceilings(torch.device(device), int(matrix), int(copy_mib))
        write_text_atomically(Path(path), json.dumps(found, indent=1))
        print(json.dumps(found, indent=1))
        return 0
    if argv[:1] == ["record"]:
        parser = argparse.ArgumentParser(prog="python -m experiments.training.lease record")
        parser.add_argument("files_at", type=Path)
        parser.add_argument("--name", default=None)
        parser.add_argument("--root", type=Path, default=None)
        spec = parser.parse_args(argv[1:])
        try:
            folder = record(spec.files_at, spec.name, spec.root)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"recorded {folder}")
        return 0
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report = run_lease(args)
    return 0 if all(s["status"] in ("ok", "skipped") for s in report["steps"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
