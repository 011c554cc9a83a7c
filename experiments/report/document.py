"""A tiny document model written once and rendered twice: Markdown and self-contained HTML."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str | None = None


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Image:
    path: Path
    caption: str


Block = Heading | Paragraph | Table | Code | Image


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], relative_to: Path) -> str:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, Table):
            lines.append("| " + " | ".join(_md_cell(h) for h in block.header) + " |")
            lines.append("|" + "---|" * len(block.header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif isinstance(block, Code):
            lines += ["```", block.text, "```", ""]
        elif isinstance(block, Image):
            lines += [f"![{block.caption}]({block.path.relative_to(relative_to)})", ""]
    return "\n".join(lines)


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
img { max-width: 100%; }
.v-holds { background: #dff5df; } .v-falsified { background: #f9d6d5; }
.v-holds-under-conditions { background: #fff1c9; } .v-inconclusive { background: #e9e9f5; }
.v-needs-gpu, .v-needs-data { background: #e6f0fa; } .v-missing { background: #f4b6b6; }
"""

VERDICT_CLASSES = {
    "holds",
    "falsified",
    "holds-under-conditions",
    "inconclusive",
    "needs-gpu",
    "needs-data",
}


def _html_cell(text: str) -> str:
    escaped = html.escape(text)
    css = f"v-{text}" if text in VERDICT_CLASSES or text == "missing" else ""
    return f'<td class="{css}">{escaped}</td>' if css else f"<td>{escaped}</td>"


def to_html(blocks: list[Block], title: str) -> str:
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            anchor = f' id="{block.anchor}"' if block.anchor else ""
            parts.append(f"<h{block.level}{anchor}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
            body = "".join(
                "<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in block.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Code):
            parts.append(f"<pre>{html.escape(block.text)}</pre>")
        elif isinstance(block, Image):
            data = base64.b64encode(block.path.read_bytes()).decode()
            parts.append(
                f"<figure><img alt='{html.escape(block.caption)}' "
                f"src='data:image/png;base64,{data}'><figcaption>{html.escape(block.caption)}"
                "</figcaption></figure>"
            )
    # Lets a headless browser (and the tests) confirm every embedded figure decoded.
    parts.append(
        "<script>window.addEventListener('load', () => { document.body.dataset.imagesOk = "
        "String([...document.images].every(i => i.complete && i.naturalWidth > 0)); });</script>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
