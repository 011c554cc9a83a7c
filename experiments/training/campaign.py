"""One GPU campaign: measure, plan the papers' protocols into the budget, train, bundle.

    python -m experiments.training.campaign --budget-min 9 --data-dir .data --device cuda \\
        --out "$OUT" --runs /tmp/campaign-runs

1. **Measure** (first seconds): a few timed training steps of each model the plan may use,
   at its paper batch size, with the slowest common arm (AdamNorm; ``throughput.py``'s steps
   of the training engine): :data:`STACK_RUNS` runs stacked, the aggregate rate (one run
   alone where the runs train looped or sequentially).
2. **Plan**: walk :data:`PRIORITY` (the order is data, not code) and give each entry the
   seeds its statistic needs (:func:`seeds_needed`, from the paired variances recorded under
   ``experiments/training/recorded/``), skipping every run already recorded there or finished
   in ``--runs``; runs are taken seed by seed (all arms of seed 0, then seed 1, ...), first fit:
   a run too long for what is left of the budget waits for a later campaign. The plan is
   printed before anything trains, with what each unaffordable entry would need.
3. **Train** each entry's planned runs together, up to :data:`STACK_RUNS` at a time, in the
   engine (``engine.train_together``; runs of another model, width or batch size go in
   another stack; stacked on CUDA, looped on the CPU: ``--engine auto``), or one after
   another with ``--engine sequential`` (stacks of one, as ``loop.train``); each
   run streams its ``metrics.jsonl`` under ``--runs``, and after every finished epoch
   ``--out/campaign.json.gz`` is rewritten atomically: the plan, command, environment,
   measured throughput and every run's history so far. A device that goes away early still
   returns every finished epoch.
4. **Record**: ``python -m experiments.training.recorded add campaign.json.gz`` (:func:`add`)
   turns the bundle into a folder under ``experiments/training/recorded/`` whose verdicts the
   report reads as evidence; the next campaign skips what it recorded and plans further.

Carrying it to the device machine (only the working tree travels, 64 MiB; the tree is ~4 MB
and the data 56 MB): once, here, ``mkdir -p .data && cp ../shared/data/cifar10-jpeg.npz .data/
&& echo /.data/ >> "$(git rev-parse --git-common-dir)/info/exclude"``; then the device call is
``carry=[".data"]``, ``timeout_s=600`` and the command::

    set -o pipefail; PYTHONUNBUFFERED=1 python -m experiments.training.campaign \\
        --budget-min 9 --data-dir .data --device cuda --out "$OUT" --runs /tmp/campaign-runs \\
        2>&1 | tee "$OUT/campaign.log"

Nothing is installed (the device's own torch). One command may run 10 minutes, so the budget
is 9; ``--runs`` outside ``$OUT`` keeps checkpoints from crowding out the bundle (the device
returns at most 8 files) and, on a machine still warm, lets a second call resume the runs the
first left unfinished. Back here: ``python -m experiments.training.recorded add
<files_at>/campaign.json.gz`` and commit the new folder.

The CPU dry run (``--dry-run-model small_cnn --dry-run-width 0.25 --dry-run-images 200``)
runs the same plan with every entry's model replaced and one epoch; its records are the
reduced scale and never decide a claim.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import gzip
import json
import math
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from experiments.data import DataError, ImageDataset, load_dataset
from experiments.training import recorded
from experiments.training.__main__ import study_result
from experiments.training.claims import (
    ACCURACY,
    STUDIES,
    Arm,
    Study,
    _superior_pairs,
    protocol_for,
    study_verdict,
)
from experiments.training.engine import STACK_RUNS, default_layout, stacks, train_together
from experiments.training.loop import HISTORY, RunSpec, finished_record, read_history
from experiments.training.protocols import PROTOCOLS, Protocol
from theory.verdicts import write_results, write_text_atomically

BUNDLE = "campaign.json.gz"
FORMAT = "optverify-campaign/1"
RESULTS = "verdicts-campaign"
DEFAULT_SEEDS = 3
"""Seeds for an entry without a recorded variance: the papers' own three runs."""
MAX_SEEDS = 64
"""Above this a campaign cannot separate the effect from zero; the plan says so."""
MEASURED_OPTIMIZER = "AdamNorm"
"""Throughput is measured with the slowest common arm, so the estimates err long."""
EVAL_SPEEDUP = 3.0
"""Evaluation images per training image's time (forward only, no optimizer)."""
RUN_OVERHEAD_S = 1.0
"""Per-run start-up (model build, loaders, first-epoch allocation) in the estimate."""
ENGINES = ("auto", "stacked", "looped", "sequential")
"""``auto``: the engine in the device's layout (``engine.DEFAULT_LAYOUT``); ``stacked`` or
``looped``: the engine in that layout; ``sequential``: one run at a time (a looped stack of
one, which is what ``loop.train`` is)."""
MEASURE_STEPS = {"cuda": (2, 8), "cpu": (1, 2)}
"""(warm-up, timed) training steps of the throughput measurement per device type: a CPU step of
eight stacked runs takes seconds, and the measurement comes out of the budget."""


class CampaignError(ValueError):
    """A bundle or plan that cannot be used (the message names the file or entry)."""


@dataclass(frozen=True)
class Entry:
    """One step of the campaign's priority order.

    ``pairs``: for a claim tested as a conjunction of paired comparisons (AN-9), the pairs
    this entry trains (better, base); the entry is then a part of the claim. ``effect``: the
    paper's effect size for the seeds computation (None: the recorded mean difference).
    """

    name: str
    claim_id: str
    model: str | None = None
    """The paper model this entry trains, where it differs from the study's protocol."""
    pairs: tuple[tuple[str, str], ...] = ()
    effect: float | None = None
    effect_source: str = ""

    def study(self) -> Study:
        """The study this entry decides: the claim's own, or its part over ``pairs``."""
        study = STUDIES[self.claim_id]
        if not self.pairs:
            return study
        labels = {label for pair in self.pairs for label in pair}
        return dataclasses.replace(
            study,
            arms=tuple(arm for arm in study.arms if arm.label in labels),
            decide=_superior_pairs(self.pairs, ACCURACY, "final test accuracy"),
        )

    def comparison_labels(self) -> tuple[str, ...]:
        """The recorded comparisons whose paired variance sizes this entry (empty: all of the
        claim's)."""
        return tuple(f"final test accuracy: {a} - {b}" for a, b in self.pairs)


def _an9(model: str, better: str, base: str, effect: float, table: str) -> Entry:
    return Entry(
        f"AN-9/{model}/{better}-{base}",
        "AN-9",
        model=model,
        pairs=((better, base),),
        effect=effect,
        effect_source=f"000 Table 1, {model} CIFAR-10: {table}",
    )


PRIORITY: tuple[Entry, ...] = (
    _an9("vgg16", "AdamNorm", "Adam", 0.28, "92.55 -> 92.83"),
    Entry("AN-14/vgg16", "AN-14", model="vgg16"),  # the same runs as the entry above
    _an9("resnet18", "AdamNorm", "Adam", 0.24, "93.54 -> 93.78"),
    _an9("vgg16", "DiffGradNorm", "DiffGrad", 0.11, "92.76 -> 92.87"),
    _an9("vgg16", "RAdamNorm", "RAdam", 0.20, "92.94 -> 93.14"),
    _an9("vgg16", "AdaBeliefNorm", "AdaBelief", 0.10, "92.71 -> 92.81"),
    _an9("resnet18", "DiffGradNorm", "DiffGrad", 0.49, "93.49 -> 93.98"),
    _an9("resnet18", "RAdamNorm", "RAdam", 0.07, "93.82 -> 93.89"),
    _an9("resnet18", "AdaBeliefNorm", "AdaBelief", 0.03, "93.63 -> 93.66"),
    Entry("AI-5", "AI-5"),
    Entry("AB-1", "AB-1"),
    Entry("AI-6", "AI-6"),
    Entry("LW-4/vgg11", "LW-4", model="vgg11"),
    Entry("AN-12/vgg16", "AN-12", model="vgg16"),
    Entry("AN-13/vgg16", "AN-13", model="vgg16"),
    Entry("AN-14/resnet18", "AN-14"),
    # AR-8 is ImageNet's (002 Fig. 2): not here without its data.
    Entry("ND-5", "ND-5"),
    Entry("AI-8/vgg11", "AI-8", model="vgg11"),
)
"""The campaign's order: what CIFAR-10 at the papers' protocols can decide, most wanted first
(issue 18). Entries sharing runs (AN-14 with AN-9's Adam/AdamNorm, AB-1 and AI-6 with AI-5)
cost nothing once the first is trained."""


# --- seeds ---------------------------------------------------------------------------------


def seeds_needed(effect: float, sd: float, most: int = MAX_SEEDS) -> int | None:
    """The fewest seeds n >= 2 with t_{0.975, n-1} * sd / sqrt(n) < |effect| (a paired 95%
    interval around a mean difference of ``effect`` excludes zero); None if above ``most``."""
    for n in range(2, most + 1):
        if stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) < abs(effect):
            return n
    return None


def recorded_comparisons(*roots: Path) -> dict[str, list[dict[str, Any]]]:
    """Claim -> the paired comparisons of its latest recorded study under ``roots``."""
    found: dict[str, list[dict[str, Any]]] = {}
    for folder in [f for root in dict.fromkeys(roots) for f in recorded.campaigns(root)]:
        manifest = json.loads((folder / recorded.MANIFEST).read_text())
        for entry in manifest.get("results", []):
            payload = json.loads((folder / entry["file"]).read_text())
            for record in payload.get("claims", []):
                comparisons = record.get("evidence", {}).get("comparisons")
                if comparisons:
                    settings = record["evidence"].get("protocol_settings") or entry.get(
                        "protocol", {}
                    )
                    where = f"{settings.get('model', '?')}@{settings.get('epochs', '?')}ep"
                    found[record["claim_id"]] = [
                        {**c, "recorded_in": folder.name, "recorded_model": where}
                        for c in comparisons
                    ]
    return found


@dataclass(frozen=True)
class SeedsNeed:
    entry: str
    seeds: int | None
    """None: more than MAX_SEEDS, no campaign can separate the effect from zero."""
    why: str


def seeds_table(entries: Sequence[Entry], *roots: Path) -> list[SeedsNeed]:
    """Seeds per entry: the most any of its comparisons needs, from the recorded paired sd and
    the paper's effect (or the recorded mean where the paper gives none)."""
    comparisons = recorded_comparisons(*roots)
    table = []
    for entry in entries:
        labels = entry.comparison_labels()
        rows = [
            c for c in comparisons.get(entry.claim_id, []) if not labels or c["label"] in labels
        ]
        if not rows:
            table.append(SeedsNeed(entry.name, DEFAULT_SEEDS, "no recorded variance"))
            continue
        needs, parts = [], []
        for c in rows:
            effect = entry.effect if entry.effect is not None else c["mean"]
            n = seeds_needed(effect, c["sd"])
            needs.append(n)
            parts.append(
                f"{c['label']}: effect {effect:+.4g}, sd {c['sd']:.3g} (n={c['n']}, "
                f"{c['recorded_model']}, {c['recorded_in']})"
            )
        seeds = None if None in needs else max(needs)
        source = entry.effect_source or "effect = recorded mean"
        table.append(SeedsNeed(entry.name, seeds, f"{source}; " + "; ".join(parts)))
    return table


# --- throughput ----------------------------------------------------------------------------


def measure_images_per_second(
    model: str,
    width: float,
    batch: int,
    device: torch.device,
    runs: int = 1,
    steps: int = 4,
    warmup: int = 2,
) -> dict[str, Any]:
    """Median training images/s in all of ``runs`` runs of ``model`` trained by the engine's
    step (batches, forward, backward, optimizer steps and probes): stacked when ``runs`` > 1."""
    from experiments.training.throughput import Arm, training_flops_per_image

    arm = Arm(model, width, batch, MEASURED_OPTIMIZER, runs, device)
    stacked = runs > 1
    for _ in range(warmup):
        arm.step(stacked)
    seconds = float(np.median([arm.step(stacked)[0] for _ in range(steps)]))
    flops = training_flops_per_image(arm.models[0], batch, device)
    return {
        "model": model,
        "width": width,
        "batch_size": batch,
        "optimizer": MEASURED_OPTIMIZER,
        "runs": runs,
        "layout": "stacked" if stacked else "separate",
        "images_per_second": runs * batch / seconds,
        "flops_per_image": flops,
        "steps": steps,
    }


# --- plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """How the campaign turns an entry into a protocol: the papers' (dry run: None), or the
    dry run's model, width and images at one epoch."""

    dry_run: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return "paper" if self.dry_run is None else "reduced"

    def protocol_scale(self, entry: Entry) -> dict[str, Any] | None:
        base = PROTOCOLS[STUDIES[entry.claim_id].protocol]
        if self.dry_run is not None:
            return dict(self.dry_run)
        if entry.model is None or entry.model == base.model:
            return None  # the same runs as ``python -m experiments.training --scale paper``
        return {"epochs": base.epochs, "model": entry.model}

    def protocol(self, entry: Entry) -> Protocol:
        return protocol_for(STUDIES[entry.claim_id], self.protocol_scale(entry))


def _arm_protocol(arm: Arm, protocol: Protocol) -> Protocol:
    return arm.spec(protocol, 0, "").protocol


def estimate_seconds(protocol: Protocol, rate: float, train_images: int, test_images: int) -> float:
    """Estimated wall time of one run at ``rate`` training images/s."""
    images = min(train_images, protocol.train_subset or train_images)
    per_epoch = images / rate + test_images / (EVAL_SPEEDUP * rate)
    return RUN_OVERHEAD_S + protocol.epochs * per_epoch


def plan(
    entries: Sequence[Entry],
    scale: Scale,
    data: ImageDataset,
    seeds: dict[str, int | None],
    done: Callable[[RunSpec], bool],
    rate: Callable[[Protocol], float],
    budget_s: float,
) -> list[dict[str, Any]]:
    """Each entry's runs in training order (seed by seed), each ``recorded`` (done before),
    ``planned`` (fits what is left of the budget) or ``over budget`` (a later campaign's)."""
    fingerprint = data.fingerprint()
    train_images, test_images = len(data.train_labels), len(data.test_labels)
    planned: list[dict[str, Any]] = []
    claimed: dict[str, str] = {}  # run key -> status given by an earlier entry
    spent = 0.0
    for entry in entries:
        study, protocol = entry.study(), scale.protocol(entry)
        n = seeds[entry.name]
        runs = []
        for seed in range(n or 0):
            for arm in study.arms:
                spec = arm.spec(protocol, seed, fingerprint)
                shared = spec.key in claimed
                images = 0
                if shared:
                    status, seconds = claimed[spec.key], 0.0
                elif done(spec):
                    status, seconds = "recorded", 0.0
                else:
                    arm_protocol = _arm_protocol(arm, protocol)
                    images = arm_protocol.epochs * min(
                        train_images, arm_protocol.train_subset or train_images
                    )
                    seconds = estimate_seconds(
                        arm_protocol, rate(arm_protocol), train_images, test_images
                    )
                    # First fit in priority order: a run too long for what is left waits for
                    # a later campaign; a shorter run further down may still use the time.
                    status = "planned" if spent + seconds <= budget_s else "over budget"
                    spent += seconds if status == "planned" else 0.0
                claimed[spec.key] = status
                runs.append(
                    {"arm": arm.label, "seed": seed, "key": spec.key, "status": status,
                     "shared": shared, "estimated_s": round(seconds, 1), "images": images}
                )  # fmt: skip
        planned.append(
            {
                "entry": entry.name,
                "claim_id": entry.claim_id,
                "part": bool(entry.pairs),
                "pairs": [list(p) for p in entry.pairs],
                "protocol_scale": scale.protocol_scale(entry),
                "scale": scale.label,
                "protocol": protocol.describe(),
                "seeds_needed": n,
                "runs": runs,
            }
        )
    return planned


def describe_plan(
    planned: Sequence[dict[str, Any]], table: Sequence[SeedsNeed], budget_s: float
) -> str:
    why = {row.entry: row.why for row in table}
    lines = [f"Campaign plan (budget {budget_s / 60:.1f} min of training):"]
    total = 0.0
    for item in planned:
        counts = {s: sum(r["status"] == s for r in item["runs"]) for s in
                  ("planned", "recorded", "over budget")}  # fmt: skip
        minutes = sum(r["estimated_s"] for r in item["runs"] if r["status"] == "planned") / 60
        total += minutes
        n = item["seeds_needed"]
        if n is None:
            state = f"cannot separate the effect from zero within {MAX_SEEDS} seeds: not planned"
        elif counts["over budget"] == 0 and counts["planned"] == 0:
            state = "complete (all runs recorded or shared)"
        elif counts["over budget"] == 0:
            shared = sum(r["shared"] for r in item["runs"])
            state = f"{counts['planned']} runs ({shared} shared with the entries above), " + (
                f"{minutes:.1f} min"
            )
        else:
            left = [r for r in item["runs"] if r["status"] == "over budget"]
            missing = sum(r["estimated_s"] for r in left)
            state = (
                f"budget cannot afford it: {counts['planned']} of "
                f"{counts['planned'] + counts['over budget']} runs ({minutes:.1f} min); "
            )
            if missing:
                rate = sum(r["images"] for r in left) / budget_s
                state += (
                    f"the rest needs {missing / 60:.1f} min more here, or {rate:,.0f} training "
                    "img/s in all to fit this budget (a later campaign adds it)"
                )
            else:
                state += "its runs are the entries' above"
        arms = len(item["runs"]) // max(n or 1, 1)
        lines.append(
            f"  {item['entry']:<38} {n or '-':>3} seeds x {arms} arms, "
            f"{counts['recorded']} recorded: {state}"
        )
        lines.append(f"      {item['protocol']}; seeds: {why.get(item['entry'], '')}")
    lines.append(f"  total planned: {total:.1f} min")
    return "\n".join(lines)


# --- bundle --------------------------------------------------------------------------------


def environment(device: torch.device) -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "device": str(device),
        "commit": commit,
        "precision": "bf16 autocast for the model, optimizer state in float32"
        if device.type == "cuda"
        else "float32",
    }
    if device.type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
        env["cuda"] = torch.version.cuda
    else:
        env["device_name"] = platform.processor() or platform.machine()
    return env


def write_bundle(path: Path, bundle: dict[str, Any]) -> None:
    """Rewrite the bundle atomically: a reader (or the device going away) sees a whole file."""
    payload = gzip.compress(json.dumps(bundle, separators=(",", ":"), default=float).encode())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(payload)
    tmp.replace(path)


def read_bundle(path: Path) -> dict[str, Any]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            bundle = json.load(fh)
    except (OSError, ValueError, EOFError) as error:
        raise CampaignError(f"{path}: not a campaign bundle ({error})") from error
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise CampaignError(f"{path}: not a campaign bundle (format {FORMAT} expected)")
    return bundle


def _run_logs(runs_dir: Path, keys: Sequence[str]) -> list[dict[str, Any]]:
    logs = []
    for key in keys:
        path = runs_dir / key / HISTORY
        if path.exists():
            logs.append(read_history(path))
    return logs


# --- add -----------------------------------------------------------------------------------


def _finished(log: dict[str, Any]) -> bool:
    history = log.get("history") or []
    return len(history) >= log["protocol"]["epochs"] or bool(
        history and history[-1].get("diverged")
    )


def add(bundle_path: Path, name: str | None = None, root: Path = recorded.ROOT) -> Path:
    """Record the bundle as ``root/<name>``: manifest, verdicts of every entry with at least
    two complete seeds (runs of this bundle and of earlier campaigns under ``root``), run
    logs and a README. Refuses an existing folder (nothing is overwritten)."""
    bundle = read_bundle(bundle_path)
    name = name or f"campaign-{bundle['started'][:19].replace(':', '').replace('T', '-')}"
    folder = root / name
    if folder.exists():
        raise CampaignError(f"{folder} exists: choose another --name")
    logs = {log["run"]: log for log in recorded.recorded_runs(root).values()}
    own = [log for log in bundle["runs"] if isinstance(log, dict) and "run" in log]
    logs.update({log["run"]: log for log in own})
    entries = {entry.name: entry for entry in PRIORITY}
    results = []
    for item in bundle["plan"]:
        entry = entries.get(item["entry"])
        if entry is None:
            raise CampaignError(f"{bundle_path}: unknown plan entry {item['entry']!r}")
        result = _entry_result(entry, item, logs, bundle)
        if result is not None:
            results.append(result)
    folder.mkdir(parents=True)
    write_results(RESULTS, results, folder)
    with gzip.open(folder / recorded.RUNS, "wt", encoding="utf-8") as fh:
        json.dump(own, fh, separators=(",", ":"), default=float)
    env = bundle["environment"]
    manifest = {
        "source": f"recorded campaign {name}",
        "device": f"{env.get('device_name', '')} ({env.get('device', '')})",
        "environment": env,
        "throughput": bundle["throughput"],
        "budget_min": bundle["budget_min"],
        "results": [{"file": f"{RESULTS}.json", "command": bundle["command"]}],
    }
    write_text_atomically(folder / recorded.MANIFEST, json.dumps(manifest, indent=1))
    write_text_atomically(folder / "README.md", _readme(name, bundle, results, len(own)))
    return folder


def _entry_result(entry: Entry, item: dict[str, Any], logs: dict[str, Any], bundle: dict):
    by_arm: dict[str, dict[int, dict[str, Any]]] = {}
    for run in item["runs"]:
        log = logs.get(run["key"])
        if log is not None and _finished(log):
            by_arm.setdefault(run["arm"], {})[run["seed"]] = log
    study = entry.study()
    seeds = sorted(set.intersection(*(set(by_arm.get(arm.label, {})) for arm in study.arms)))
    if len(seeds) < 2:  # the paired statistics need two
        return None
    records = {arm.label: [by_arm[arm.label][s] for s in seeds] for arm in study.arms}
    protocol = protocol_for(STUDIES[entry.claim_id], item["protocol_scale"])
    images = min(bundle["data"]["train_images"], protocol.train_subset or math.inf)
    # Runs trained together share each epoch's wall time: count it once.
    seconds = sum(e.get("seconds", 0.0) / e.get("stacked_runs", 1) for logs_ in records.values()
                  for r in logs_ for e in r["history"])  # fmt: skip
    result = study_result(
        study, item["scale"], protocol, seeds, records, int(images),
        bundle["data"]["description"], seconds, command=bundle["command"],
    )  # fmt: skip
    if entry.pairs:
        result.evidence["part_of_claim"] = {
            "entry": entry.name,
            "pairs": [list(p) for p in entry.pairs],
            "model": protocol.model,
            "why": "one pair of a conjunction: it can falsify the claim, not make it hold",
        }
        decided = result.evidence["decided_at_this_scale"]
        match = recorded.part_fidelity(result.evidence["fidelity"], decided, result.evidence)
        result.evidence["fidelity"] = match
        result = dataclasses.replace(result, verdict=study_verdict(study, decided, match))
    return result


def _readme(name: str, bundle: dict[str, Any], results: Sequence[Any], runs: int) -> str:
    env = bundle["environment"]
    rows = "\n".join(
        f"| {r.claim_id} | {r.evidence['protocol']} | {len(r.evidence['seeds'])} | "
        f"{r.evidence['decided_at_this_scale']} | {r.verdict} |"
        for r in results
    )
    rates = "\n".join(
        f"| {t['model']} | {t['batch_size']} | {t.get('runs', 1)} | {t['images_per_second']:.0f} |"
        for t in bundle["throughput"]
    )
    return f"""# Training campaign {name}

Recorded output of `{bundle["command"]}` (started {bundle["started"]}), on
{env.get("device_name", "")} ({env.get("device", "")}), torch {env.get("torch", "")},
Python {env.get("python", "")}, {env.get("precision", "")}; data: {bundle["data"]["description"]}.
Budget {bundle["budget_min"]} min; {runs} runs in `runs.json.gz` (per-epoch logs as
`history.json` holds them). Added with `python -m experiments.training.recorded add`.

| claim | protocol | seeds | decided at this scale | verdict |
|---|---|---|---|---|
{rows}

Measured training throughput ({MEASURED_OPTIMIZER}; img/s in all of the runs stepped together):

| model | batch | runs | img/s |
|---|---|---|---|
{rates}

`manifest.json` makes this folder evidence for the report; each record's fidelity is
recomputed from its protocol when the report reads it.
"""


# --- main ----------------------------------------------------------------------------------


def _budget(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.training.campaign", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--budget-min", type=_budget, required=True, help="minutes in all")
    parser.add_argument("--out", type=Path, default=Path("results/campaign"))
    parser.add_argument("--runs", type=Path, default=None, help="run folders (default OUT/runs)")
    parser.add_argument("--data-dir", default=None, help="folder with cifar10-jpeg.npz")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda if present)")
    parser.add_argument("--only", default="", help="comma-separated entry names or prefixes")
    parser.add_argument("--recorded", type=Path, default=recorded.ROOT, help="recorded campaigns")
    parser.add_argument("--plan-only", action="store_true", help="print the plan and stop")
    parser.add_argument(
        "--engine", choices=ENGINES, default="auto",
        help="train an entry's runs together (auto: the device's layout) or one by one",
    )  # fmt: skip
    parser.add_argument("--dry-run-model", default=None, help="e.g. small_cnn: CPU dry run")
    parser.add_argument("--dry-run-width", type=_budget, default=0.25)
    parser.add_argument("--dry-run-images", type=int, default=200)
    args = parser.parse_args(argv)
    args.device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.engine == "auto":
        args.engine = default_layout(args.device)
    if args.device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda asked for, but torch sees no CUDA device")
    prefixes = [p for p in args.only.split(",") if p]
    args.entries = [
        e for e in PRIORITY if not prefixes or any(e.name.startswith(p) for p in prefixes)
    ]
    if not args.entries:
        parser.error(f"--only {args.only}: no entry; known: {', '.join(e.name for e in PRIORITY)}")
    if args.dry_run_images < 10 or args.dry_run_images % 10:
        parser.error("--dry-run-images: a positive multiple of the 10 classes")
    if args.dry_run_model is None and args.data_dir is None:
        parser.error("the papers' protocols need the full CIFAR-10: pass --data-dir")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    runs_dir = args.runs or args.out / "runs"
    dry = None
    if args.dry_run_model is not None:
        dry = {"epochs": 1, "model": args.dry_run_model, "width": args.dry_run_width,
               "train_subset": args.dry_run_images}  # fmt: skip
    scale = Scale(dry)
    try:
        data = load_dataset(
            "cifar10", data_dir=args.data_dir, subset=True if args.data_dir is None else False
        )
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    table = seeds_table(args.entries, recorded.ROOT, args.recorded)
    seeds = {row.entry: row.seeds for row in table}
    done_keys = {k for k, log in recorded.recorded_runs(args.recorded).items() if _finished(log)}
    measured: dict[tuple[str, float, int], dict[str, Any]] = {}

    def rate(protocol: Protocol) -> float:
        key = (protocol.model, protocol.width, protocol.batch_size)
        if key not in measured:
            runs = STACK_RUNS if args.engine == "stacked" else 1
            warmup, steps = MEASURE_STEPS.get(args.device.type, MEASURE_STEPS["cpu"])
            measured[key] = measure_images_per_second(
                *key, args.device, runs=runs, steps=steps, warmup=warmup
            )
        return measured[key]["images_per_second"]

    def done(spec: RunSpec) -> bool:
        return spec.key in done_keys or finished_record(spec, runs_dir) is not None

    budget_s = args.budget_min * 60
    planned = plan(args.entries, scale, data, seeds, done, rate, budget_s)
    planned_s = time.perf_counter() - started
    for row in measured.values():
        print(
            f"measured {row['model']} (width {row['width']:g}), batch {row['batch_size']}, "
            f"{row['optimizer']}, {row['runs']} run(s) {row['layout']}: "
            f"{row['images_per_second']:.0f} img/s in all on {args.device}",
            flush=True,
        )
    print(describe_plan(planned, table, budget_s - planned_s), flush=True)
    bundle = {
        "format": FORMAT,
        "command": shlex.join(
            ["python", "-m", "experiments.training.campaign", *(argv or sys.argv[1:])]
        ),
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "budget_min": args.budget_min,
        "environment": environment(args.device),
        "data": {
            "description": data.describe(),
            "fingerprint": data.fingerprint(),
            "train_images": len(data.train_labels),
        },
        "throughput": list(measured.values()),
        "engine": args.engine,
        "seeds": [dataclasses.asdict(row) for row in table],
        "plan": planned,
        "runs": [],
    }
    bundle_path = args.out / BUNDLE
    write_bundle(bundle_path, bundle)
    if args.plan_only:
        return 0
    entries = {e.name: e for e in args.entries}
    own_keys: list[str] = []

    def flush(message: str) -> None:
        print(f"  {message}", flush=True)
        bundle["runs"] = _run_logs(runs_dir, own_keys)
        write_bundle(bundle_path, bundle)

    fingerprint = data.fingerprint()
    for item in planned:
        study, protocol = entries[item["entry"]].study(), scale.protocol(entries[item["entry"]])
        arms = {arm.label: arm for arm in study.arms}
        todo = [
            (arms[run["arm"]].spec(protocol, run["seed"], fingerprint), run["estimated_s"])
            for run in item["runs"]
            if run["status"] == "planned" and run["key"] not in own_keys
        ]
        if args.engine == "sequential":
            batches = [[one] for one in todo]
        else:  # runs of one architecture and batch size in one stack, at most STACK_RUNS
            estimates = {spec.key: seconds for spec, seconds in todo}
            batches = [
                [(spec, estimates[spec.key]) for spec in stack]
                for stack in stacks([spec for spec, _ in todo])
            ]
        for batch in batches:
            # What the budget still affords, in plan order: the rest waits for a later
            # campaign (an estimate is a run's share of its stack's time).
            left = budget_s - (time.perf_counter() - started)
            fits = []
            for spec, estimate in batch:
                if estimate > left:
                    print(f"  budget spent: {spec.key} not started", flush=True)
                    continue
                fits.append(spec)
                left -= estimate
            if not fits:
                continue
            own_keys.extend(spec.key for spec in fits)
            # A sequential batch is one run: loop.train's looped stack of one.
            layout = "looped" if args.engine == "sequential" else args.engine
            train_together(fits, data, runs_dir, device=args.device, progress=flush, layout=layout)
    bundle["runs"] = _run_logs(runs_dir, own_keys)
    bundle["finished"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    write_bundle(bundle_path, bundle)
    print(f"wrote {bundle_path} ({len(own_keys)} runs, {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
