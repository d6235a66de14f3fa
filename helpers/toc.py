"""The table of contents and prev/next links, made from the notebook files themselves."""
from __future__ import annotations

import json
from pathlib import Path

from helpers.config import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"


def notebook_titles(folder: Path = NOTEBOOKS) -> list[tuple[str, str]]:
    """(file name, title) for every NN-*.ipynb in order; the title is the first '# ' heading."""
    out = []
    for path in sorted(folder.glob("[0-9][0-9]-*.ipynb")):
        cells = json.loads(path.read_text()).get("cells", [])
        first = "".join(cells[0]["source"]) if cells else ""
        title = next((l[2:].strip() for l in first.splitlines() if l.startswith("# ")), path.stem)
        out.append((path.name, title))
    return out


def toc_markdown(folder: Path = NOTEBOOKS) -> str:
    # Numbered by the file's own prefix (00…99), so the list and the file browser agree.
    return "\n".join(f"- {name[:2]} [{title}]({name})" for name, title in notebook_titles(folder))


def prev_next_markdown(current: str, folder: Path = NOTEBOOKS) -> str:
    names = [n for n, _ in notebook_titles(folder)]
    titles = dict(notebook_titles(folder))
    i = names.index(current)
    parts = []
    if i > 0:
        parts.append(f"← [{titles[names[i - 1]]}]({names[i - 1]})")
    if i + 1 < len(names):
        parts.append(f"[{titles[names[i + 1]]}]({names[i + 1]}) →")
    return " | ".join(parts)
