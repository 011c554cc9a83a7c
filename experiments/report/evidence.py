"""Evidence as a reader wants it: counterexamples as small tables, conditions, caveats
and the evidence ladder of an empirical claim.

A counterexample of the invariant checks (a stored optimizer case) becomes its
hyperparameters in one line, a table of its steps (the quantities the claim
speaks of, the violated step marked; :func:`invariants.replay.step_table`, the
same table the replay prints) and, when it has several steps, a small plot of
the trajectories. Any other counterexample (a theory or regret record: a flat
dictionary) becomes its setting in one line, its per-step arrays as a table,
the violated inequality as a sentence and its remaining quantities as a
two-column table. The raw JSON stays behind a disclosure element.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from experiments import palette
from experiments.report.document import (
    Block,
    Bullets,
    Code,
    CodeSpan,
    Details,
    Image,
    Paragraph,
    Table,
)

RAW_LIMIT = 6000
"""Characters of raw JSON shown in the report (claims.json keeps all of it)."""

NAMES = {
    "R_T_over_T": "R(T)/T",
    "R_T_over_T_of_seed": "R(T)/T of this seed",
    "exponent_ci95": "growth exponent of R(T), 95% CI",
    "exponent_last_decade_ci95": "growth exponent over the last decade, 95% CI",
    "lhs": "left side",
    "rhs": "right side",
    "grads": "g_t",
    "beta1": "β1",
    "beta2": "β2",
    "gamma": "γ",
    "alpha": "α",
    "lam": "λ",
    "eps": "ε",
    "eta": "η",
    "first_violation_T": "first violated at T",
    "violated_from_T": "violated from T",
}
"""Display names of the fields the checks store (the papers' symbols where they exist)."""

SETTING_KEYS = ("problem", "arm", "version", "seed", "T", "d", "C", "alpha", "beta1", "beta2",
                "gamma", "lam", "eps", "correction_steps")  # fmt: skip
"""Fields that describe where the counterexample was found (shown first, in one line)."""

INEQUALITIES = (("lhs", "rhs"), ("regret", "bound"), ("regret_at_first", "bound_at_first"),
                ("regret_at_T", "bound_at_T"))  # fmt: skip
"""(measured, bound) pairs whose order is the claim's inequality."""

NOT_SHOWN = ("replay", "found_by", "case", "violation")
"""Fields shown elsewhere (the commands, the step table) rather than as quantities."""


def name(key: str) -> str:
    return NAMES.get(key, key.replace("_", " "))


def number(value: Any) -> str:
    """A value as a reader wants it: 4 significant digits, short lists inline."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "–"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        flat = [v for v in value if not isinstance(v, list | dict)]
        if len(flat) == len(value) and len(value) <= 8:
            return "[" + ", ".join(number(v) for v in value) + "]"
        return f"{len(value)} values"
    if isinstance(value, dict):
        if "hyperparameters" not in value and all(not isinstance(v, dict) for v in value.values()):
            return ", ".join(f"{name(k)} = {number(v)}" for k, v in value.items())
        return f"{len(value)} fields"
    return str(value)


def raw_json(data: Any, label: str) -> Details:
    text = json.dumps(data, indent=1, ensure_ascii=False, default=str)
    if len(text) > RAW_LIMIT:
        text = text[:RAW_LIMIT] + "\n… (the full record is in claims.json)"
    return Details(f"raw JSON of the {label}", (Code(text),))


# ------------------------------------------------------------ stored optimizer cases


def _trajectory_plot(table: Any, path: Path, title: str) -> Path | None:
    """The table's one-element series against the step, the violated steps marked."""
    drawn = {k: v for k, v in table.series.items() if k != "g_t"}
    if len(table.steps) < 2 or not drawn:
        return None
    fig, ax = plt.subplots(figsize=(5.2, 2.9))
    for i, (column, values) in enumerate(drawn.items()):
        optimizer = column.split(" ", 1)[1] if " " in column else None
        color = palette.color(optimizer) if optimizer else f"C{i}"
        style = palette.LINE_STYLES[i % len(palette.LINE_STYLES)]
        ax.plot(table.steps, values, marker="o", color=color, ls=style, label=column)
    ax.bar(table.steps, table.series.get("g_t", [0] * len(table.steps)), color="#bbbbbb",
           width=0.3, label="g_t (input)", zorder=0)  # fmt: skip
    for row in table.marked:
        step = table.steps[row]
        ax.axvline(step, color="black", lw=1, ls="--")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("step t")
    ax.set_ylabel("value (same units as g_t)")
    ax.set_xticks(table.steps)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _case_blocks(
    case: dict[str, Any],
    violations: list[str],
    statement: str,
    implementation: str,
    plot_path: Path | None,
) -> list[Block]:
    from invariants.replay import hyper_line, step_table

    blocks: list[Block] = [Paragraph(f"Setting: {hyper_line(case)}.")]
    try:
        table = step_table(case, violations, statement, implementation)
    except Exception as error:  # a case the runners cannot replay is shown without its steps
        blocks.append(Paragraph(f"(steps not shown: {type(error).__name__}: {error})"))
        table = None
    if table is not None:
        blocks.append(
            Table(table.header, table.rows, frozenset(table.marked), f"Steps ({table.note}).")
        )
    in_table = [row[-1] for row in table.rows] if table is not None else []
    elsewhere = [v for v in violations if not any(v in cell for cell in in_table)]
    if elsewhere:  # violations of no single step (or of steps the table does not show)
        blocks.append(Paragraph("Violated:"))
        blocks.append(Bullets(tuple(elsewhere)))
    if table is not None and plot_path is not None:
        drawn = _trajectory_plot(table, plot_path, "trajectory of the counterexample")
        if drawn is not None:
            blocks.append(
                Image(
                    drawn,
                    "The counterexample's trajectory (grey bars: the gradient; black dashed: the "
                    "violated step). Look at where the lines cross the claimed order.",
                    small=True,
                )
            )
    return blocks


# ------------------------------------------------------------ flat records


def _per_step(cx: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields that hold one value per step (equal-length lists of numbers or vectors)."""
    lists = {k: v for k, v in cx.items() if isinstance(v, list) and v and k not in NOT_SHOWN}
    steps = cx.get("T") if isinstance(cx.get("T"), int) else None
    lengths = {len(v) for v in lists.values()}
    if steps is None and len(lengths) == 1 and len(lists) > 1:
        steps = lengths.pop()
    return {k: v for k, v in lists.items() if len(v) == steps}


def _inequality(cx: dict[str, Any]) -> str | None:
    for measured, bound in INEQUALITIES:
        a, b = cx.get(measured), cx.get(bound)
        if isinstance(a, int | float) and isinstance(b, int | float):
            sign = ">" if a > b else "≤"
            return f"{name(measured)} = {number(a)} {sign} {name(bound)} = {number(b)}"
    return None


def _record_blocks(cx: dict[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    setting = [f"{name(k)} = {number(cx[k])}" for k in SETTING_KEYS if k in cx]
    if isinstance(cx.get("hyperparameters"), dict):
        setting.append(number({k: v for k, v in cx["hyperparameters"].items() if k != "name"}))
    if setting:
        blocks.append(Paragraph("Setting: " + ", ".join(setting) + "."))
    prose = [
        f"{name(k)}: {v}"
        for k, v in cx.items()
        if isinstance(v, str) and k not in NOT_SHOWN and k not in SETTING_KEYS
    ]
    if prose:
        blocks.append(Bullets(tuple(prose)))
    per_step = _per_step(cx)
    pairs = [(m, b) for m, b in INEQUALITIES if m in per_step and b in per_step]
    if per_step:
        keys = list(per_step)
        rows, marked = [], set()
        for t in range(len(per_step[keys[0]])):
            row = [str(t + 1), *(number(per_step[k][t]) for k in keys)]
            for measured, bound in pairs:
                if per_step[measured][t] > per_step[bound][t]:
                    marked.add(t)
                    row.append(f"✗ {name(measured)} > {name(bound)}")
            rows.append(tuple(row) + ("",) * (len(keys) + 1 + bool(pairs) - len(row)))
        header = ("step", *(name(k) for k in keys), *(("violated",) if pairs else ()))
        blocks.append(Table(header, tuple(rows), frozenset(marked), "Per step."))
    inequality = _inequality(cx)
    if inequality:
        blocks.append(Paragraph(f"Violated: {inequality}."))
    shown = set(SETTING_KEYS) | set(per_step) | {"hyperparameters"}
    rest = [
        (name(k), number(v))
        for k, v in cx.items()
        if k not in shown and k not in NOT_SHOWN and not isinstance(v, str)
    ]
    if rest:
        blocks.append(Table(("quantity", "value"), tuple(rest)))
    return blocks


def counterexample_blocks(
    claim_id: str, statement: str, cx: Any, plot_path: Path | None, label: str = "counterexample"
) -> list[Block]:
    """The readable form of one stored counterexample, with its raw JSON behind it."""
    if isinstance(cx, dict) and isinstance(cx.get("case"), dict):
        blocks = _case_blocks(
            cx["case"], list(cx.get("violation", [])), statement, cx.get("found_by", "reference"),
            plot_path,
        )  # fmt: skip
    elif isinstance(cx, dict):
        blocks = _record_blocks(cx)
    else:
        blocks = [Paragraph(number(cx))]
    return [*blocks, raw_json(cx, label)]


# ------------------------------------------------------------ conditions, caveats, ladder


def conditions_blocks(claim_id: str, statement: str, conditions: Any) -> list[Block]:
    """The conditions under which the claim holds, each with the case that needs it."""
    if isinstance(conditions, str):
        return [Paragraph(f"Holds under: {conditions}")]
    if not isinstance(conditions, list):
        return [Paragraph(f"Holds under: {number(conditions)}")]
    items, blocks = [], []
    for condition in conditions:
        if not isinstance(condition, dict):
            items.append(str(condition))
            continue
        text = condition.get("text", condition.get("name", ""))
        needed = condition.get("needed")
        if needed is True:
            text += " (needed: a counterexample exists without it)"
        elif needed is False:
            text += " (not needed in this run: no counterexample without it)"
        items.append(text)
        if isinstance(condition.get("counterexample_without_it"), dict):
            blocks.append(Paragraph(f"Without “{condition.get('name', text)}”:"))
            blocks += _case_blocks(
                condition["counterexample_without_it"],
                list(condition.get("violation", [])),
                statement,
                "reference",
                None,
            )
    return [Paragraph("Holds under these conditions:"), Bullets(tuple(items)), *blocks]


def caveat_blocks(claim_id: str, statement: str, caveats: list[dict[str, Any]]) -> list[Block]:
    """Cases outside the claim's scope (undefined inputs, rounding at magnitudes no training
    reaches): shown with their counterexamples, but they are not the verdict."""
    blocks: list[Block] = [
        Paragraph(
            "Caveats (cases outside what the claim speaks of; they do not change the verdict):"
        )
    ]
    for caveat in caveats:
        name = caveat.get("name", "")
        found = f" (found by the {caveat['stage']} stage)" if caveat.get("stage") else ""
        label = f"{name}{found}: " if name or found else ""
        blocks.append(Bullets((f"{label}{caveat.get('text', '')}",)))
        if "counterexample" in caveat:
            blocks += counterexample_blocks(
                claim_id, statement, caveat["counterexample"], None, "caveat's counterexample"
            )
        if caveat.get("replay"):
            blocks.append(Paragraph(("Replay this caveat's case: ", CodeSpan(caveat["replay"]))))
    return blocks


def _fraction(value: Any) -> str:
    return f"{100 * value:.3g} %" if isinstance(value, int | float) else "–"


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "–"


def ladder_blocks(ladder: list[dict[str, Any]], scale_dependence: str | None) -> list[Block]:
    """The evidence ladder (lowest fidelity first): scale → fidelity → result, the highest
    rung marked, and whether it decides (it matches the claim's scope) or the verdict still
    waits for a study that does."""
    rows, marked = [], set()
    for i, rung in enumerate(ladder):
        f = rung.get("fidelity", {})
        model = f.get("model", "–")
        if f.get("same_model") is False and f.get("paper_model"):
            model += f" (paper: {f['paper_model']})"
        share = _fraction(f.get("step_fraction"))
        steps = f"{_count(f.get('steps'))} of {_count(f.get('paper_steps'))} ({share})"
        window = {True: "reached", False: "not reached"}.get(f.get("averaging_window_reached"), "–")
        top = ""
        if rung.get("decides"):
            marked.add(i)
            top = (
                "★ decides"
                if f.get("matches_scope")
                else f"★ highest; below the claim's scope, so {rung.get('verdict', 'open')}"
            )
        rows.append(
            (
                rung.get("source", ""),
                model,
                _fraction(f.get("data_fraction")),
                steps,
                ", ".join(f.get("phases", [])) or "–",
                window,
                str(f.get("seeds", "–")),
                {True: "yes", False: "no"}.get(f.get("matches_scope"), "–"),
                rung.get("result", ""),
                rung.get("reading", ""),
                top,
            )
        )
    header = ("study", "model", "data", "steps", "phases", "averaging window", "seeds",
              "matches the claim's scope", "result", "reading", "")  # fmt: skip
    blocks: list[Block] = [
        Table(
            header,
            tuple(rows),
            frozenset(marked),
            "Evidence ladder, lowest fidelity first; ★ the highest-fidelity study, which "
            "decides the verdict where it matches the claim's scope (the papers' model, data "
            "and protocol).",
            mark="decides",
        )
    ]
    if scale_dependence:
        blocks.append(Paragraph(f"Scale dependence: {scale_dependence}"))
    return blocks


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")
