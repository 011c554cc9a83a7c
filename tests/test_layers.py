"""No module imports from a layer above its own (issue 13, "Done when").

The packages are layered, bottom to top: ``optimizers`` (the library and its
float64 references) < ``theory`` (symbolic checks, and the verdict vocabulary,
claim catalogue and stage protocol every stage shares) < ``invariants``
(property-based checks and conformance) < ``experiments`` (regret, training, the
report). A module may import from its own layer and the layers below. Every
import statement counts, also one inside a function, relative ones resolved
against the module's package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("optimizers", "theory", "invariants", "experiments")


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """``(line, dotted module)`` of every import in the file, relative ones made absolute."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                found.append((node.lineno, ".".join((*base, *filter(None, [node.module])))))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def upward_imports(path: Path, root: Path = ROOT) -> list[str]:
    """The imports of ``path`` that reach a layer above the file's own."""
    own = LAYERS.index(path.relative_to(root).parts[0])
    return [
        f"{path.relative_to(root)}:{line} imports {module}"
        for line, module in imported_modules(path, root)
        if module.split(".")[0] in LAYERS and LAYERS.index(module.split(".")[0]) > own
    ]


@pytest.mark.parametrize("layer", LAYERS)
def test_no_module_imports_from_a_layer_above(layer: str) -> None:
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files, layer
    problems = [problem for path in files for problem in upward_imports(path)]
    assert not problems, "\n".join(problems)


def test_the_check_sees_relative_and_nested_imports(tmp_path: Path) -> None:
    """The parser must catch what it is for, or the test above proves nothing."""
    module = tmp_path / "theory" / "sub" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from ...experiments import x\nfrom .. import checks\nimport optimizers\n\n"
        "def f():\n    import invariants.claim\n",
        encoding="utf-8",
    )
    problems = upward_imports(module, tmp_path)
    assert [p.split(" imports ")[1] for p in problems] == ["experiments", "invariants.claim"]
