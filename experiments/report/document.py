"""A tiny document model written once and rendered twice: Markdown and self-contained HTML.

Text is a string or a tuple of inline pieces (:class:`Link`, :class:`CodeSpan`,
plain strings). Blocks cover what the report needs: headings with anchors,
paragraphs, bullet lists, tables (with marked rows and a caption), code,
images (embedded as data URIs in the HTML), disclosure elements for raw data,
a verdict legend and embedded Markdown.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from theory.verdicts import VERDICTS


@dataclass(frozen=True)
class Link:
    text: str
    anchor: str
    """The ``id`` of a heading in the same document."""


@dataclass(frozen=True)
class CodeSpan:
    text: str


@dataclass(frozen=True)
class Badge:
    """A verdict in its colour."""

    verdict: str


Inline = str | Link | CodeSpan | Badge
Text = str | tuple[Inline, ...]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str | None = None


@dataclass(frozen=True)
class Paragraph:
    text: Text


@dataclass(frozen=True)
class Bullets:
    items: tuple[Text, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Text, ...], ...]
    marked: frozenset[int] = frozenset()
    """Row indices drawn as ``mark`` says: a counterexample's violated step, or the rung of
    the evidence ladder that decides."""
    caption: str = ""
    mark: str = "violated"


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Image:
    path: Path
    caption: str
    small: bool = False


@dataclass(frozen=True)
class Details:
    """Content a reader opens on demand (raw JSON behind the readable form)."""

    summary: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class VerdictLegend:
    meanings: tuple[tuple[str, str], ...]
    """(verdict, what it means), in the order shown."""


@dataclass(frozen=True)
class Markdown:
    """A Markdown file embedded as it is (its headings demoted under the report's)."""

    text: str
    demote: int = 2


Block = Heading | Paragraph | Bullets | Table | Code | Image | Details | VerdictLegend | Markdown


def _pieces(text: Text) -> tuple[Inline, ...]:
    return (text,) if isinstance(text, str) else text


# ---------------------------------------------------------------- Markdown


def _md_inline(text: Text) -> str:
    out = []
    for piece in _pieces(text):
        if isinstance(piece, Link):
            out.append(f"[{piece.text}](#{piece.anchor})")
        elif isinstance(piece, CodeSpan):
            out.append(f"`{piece.text}`")
        elif isinstance(piece, Badge):
            out.append(f"**{piece.verdict}**")
        else:
            out.append(piece)
    return "".join(out)


def _md_cell(text: Text) -> str:
    return _md_inline(text).replace("|", "\\|").replace("\n", " ")


def _demoted(text: str, levels: int) -> str:
    return re.sub(r"^(#{1,6}) ", lambda m: "#" * min(6, len(m.group(1)) + levels) + " ", text,
                  flags=re.M)  # fmt: skip


def _md_blocks(blocks: tuple[Block, ...] | list[Block], relative_to: Path) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            if block.anchor:
                lines.append(f'<a id="{block.anchor}"></a>')
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            lines += [_md_inline(block.text), ""]
        elif isinstance(block, Bullets):
            lines += [f"- {_md_inline(item)}" for item in block.items] + [""]
        elif isinstance(block, Table):
            if block.caption:
                lines += [f"*{block.caption}*", ""]
            lines.append("| " + " | ".join(_md_cell(h) for h in block.header) + " |")
            lines.append("|" + "---|" * len(block.header))
            for i, row in enumerate(block.rows):
                cells = [_md_cell(c) for c in row]
                if i in block.marked:
                    cells = [f"**{c}**" if c else c for c in cells]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        elif isinstance(block, Code):
            lines += ["```", block.text, "```", ""]
        elif isinstance(block, Image):
            lines += [f"![{block.caption}]({block.path.relative_to(relative_to)})", ""]
            lines += [f"*{block.caption}*", ""]
        elif isinstance(block, Details):
            lines += [f"<details><summary>{block.summary}</summary>", ""]
            lines += _md_blocks(block.blocks, relative_to)
            lines += ["</details>", ""]
        elif isinstance(block, VerdictLegend):
            lines += [f"- **{v}**: {meaning}" for v, meaning in block.meanings] + [""]
        elif isinstance(block, Markdown):
            lines += [_demoted(block.text.strip(), block.demote), ""]
    return lines


def to_markdown(blocks: list[Block], relative_to: Path) -> str:
    return "\n".join(_md_blocks(blocks, relative_to))


# ---------------------------------------------------------------- HTML

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       line-height: 1.4; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
caption { caption-side: top; text-align: left; font-style: italic; padding: 2px 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr.mark-violated td { background: #fde2e1; font-weight: 600; }
tr.mark-decides td { font-weight: 600; border-top: 2px solid #333; border-bottom: 2px solid #333; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.85em;
      white-space: pre-wrap; }
code { background: #f3f3f3; padding: 0 3px; }
td a { white-space: nowrap; }
img { max-width: 100%; } figure.small img { max-width: 420px; }
figcaption { font-size: 0.9em; color: #333; }
details { margin: 0.4em 0; } summary { cursor: pointer; color: #555; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 4px; margin-right: 4px; }
.legend li { list-style: none; margin: 2px 0; }
.v-holds { background: #dff5df; } .v-falsified { background: #f9d6d5; }
.v-holds-under-conditions { background: #fff1c9; } .v-inconclusive { background: #e9e9f5; }
.v-needs-gpu, .v-needs-data { background: #e6f0fa; } .v-missing { background: #f4b6b6; }
"""

VERDICT_CLASSES = frozenset(VERDICTS)

_CHECKS = """
window.addEventListener('load', () => {
  const d = document.body.dataset;
  d.imagesOk = String([...document.images].every(i => i.complete && i.naturalWidth > 0));
  const links = [...document.querySelectorAll('a[href^="#"]')];
  const broken = links.filter(a => !document.getElementById(a.getAttribute('href').slice(1)));
  d.links = String(links.length);
  d.brokenLinks = broken.map(a => a.getAttribute('href')).join(' ');
  d.tablesShown = String([...document.querySelectorAll('table')]
    .filter(t => t.rows.length > 1 && t.getBoundingClientRect().height > 0).length);
  const visible = document.body.innerText;
  d.rawEscapes = String((visible.match(/\\\\u[0-9a-fA-F]{4}|\\\\n|\\{"shape"/g) || []).length);
});
"""
"""Lets a headless browser (and the tests) confirm that every figure decoded, every
in-page link has its target, the tables have a height, and the visible text holds no
raw JSON escapes (a closed <details> element is not visible text)."""


def _html_inline(text: Text) -> str:
    out = []
    for piece in _pieces(text):
        if isinstance(piece, Link):
            out.append(f'<a href="#{html.escape(piece.anchor)}">{html.escape(piece.text)}</a>')
        elif isinstance(piece, CodeSpan):
            out.append(f"<code>{html.escape(piece.text)}</code>")
        elif isinstance(piece, Badge):
            verdict = html.escape(piece.verdict)
            out.append(f'<span class="badge v-{verdict}">{verdict}</span>')
        else:
            out.append(html.escape(piece))
    return "".join(out)


def _html_cell(text: Text) -> str:
    css = (
        f"v-{text}"
        if isinstance(text, str) and (text in VERDICT_CLASSES or text == "missing")
        else ""
    )
    body = _html_inline(text)
    return f'<td class="{css}">{body}</td>' if css else f"<td>{body}</td>"


def _html_blocks(blocks: tuple[Block, ...] | list[Block]) -> list[str]:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
            parts.append(f"<h{block.level}{anchor}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{_html_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            items = "".join(f"<li>{_html_inline(item)}</li>" for item in block.items)
            parts.append(f"<ul>{items}</ul>")
        elif isinstance(block, Table):
            caption = f"<caption>{html.escape(block.caption)}</caption>" if block.caption else ""
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
            body = "".join(
                (f'<tr class="mark-{block.mark}">' if i in block.marked else "<tr>")
                + "".join(_html_cell(c) for c in row)
                + "</tr>"
                for i, row in enumerate(block.rows)
            )
            parts.append(
                f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            )
        elif isinstance(block, Code):
            parts.append(f"<pre>{html.escape(block.text)}</pre>")
        elif isinstance(block, Image):
            data = base64.b64encode(block.path.read_bytes()).decode()
            css = ' class="small"' if block.small else ""
            parts.append(
                f"<figure{css}><img alt='{html.escape(block.caption)}' "
                f"src='data:image/png;base64,{data}'><figcaption>{html.escape(block.caption)}"
                "</figcaption></figure>"
            )
        elif isinstance(block, Details):
            parts.append(f"<details><summary>{html.escape(block.summary)}</summary>")
            parts += _html_blocks(block.blocks)
            parts.append("</details>")
        elif isinstance(block, VerdictLegend):
            items = "".join(
                f'<li><span class="badge v-{v}">{html.escape(v)}</span> {html.escape(meaning)}</li>'
                for v, meaning in block.meanings
            )
            parts.append(f'<ul class="legend">{items}</ul>')
        elif isinstance(block, Markdown):
            rendered = MarkdownIt("commonmark", {"html": False}).enable("table")
            parts.append(rendered.render(_demoted(block.text.strip(), block.demote)))
    return parts


def to_html(blocks: list[Block], title: str) -> str:
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        *_html_blocks(blocks),
        f"<script>{_CHECKS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)
