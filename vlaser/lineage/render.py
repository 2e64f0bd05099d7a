"""Human rendering of a lineage tree (rich) — the CLI's view; machines use ``LineageNode.to_dict``."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.tree import Tree

from vlaser.lineage.tree import LineageNode

_STATUS = {"missing": "[bold red]MISSING[/]", "changed": "[bold yellow]CHANGED[/]",
           "unreadable": "[bold red]UNREADABLE[/]"}


def _params_summary(params: Any, limit: int = 6) -> str:
    """A few top-level scalar settings (sources show the simulator/data settings they came from)."""
    if not isinstance(params, dict):
        return ""
    items = [f"{k}={v}" for k, v in params.items() if isinstance(v, str | int | float | bool)][:limit]
    more = " …" if len(params) > len(items) else ""
    return ", ".join(items) + more


def label(node: LineageNode) -> str:
    if node.status == "run":
        ctx = " ".join(f"{k}={v}" for k, v in (("sweep", node.sweep), ("variant", node.variant),
                                                ("seed", node.seed)) if v is not None)
        return f"[bold magenta]{escape(node.path)}[/] {escape(ctx)}"
    parts = [f"[bold cyan]{escape(node.kind or '?')}[/]", f"[bold]{escape(node.path)}[/]", f"[green]{node.short}[/]"]
    if node.status in _STATUS:
        parts.append(_STATUS[node.status])
    if node.params_digest:
        parts.append(f"params {node.params_digest[:8]}")
    if node.code_commit:
        parts.append(f"code {node.code_commit[:8]}" + ("[red]+dirty[/]" if node.code_dirty else ""))
    if node.mlflow_run_id:
        parts.append(f"run [magenta]{node.mlflow_run_id[:8]}[/]")
    text = "  ".join(parts)
    if node.note:
        text += f"\n[dim]{escape(node.note)}[/]"
    if not node.parents and (summary := _params_summary(node.params)):
        text += f"\n[dim]settings: {escape(summary)}[/]"
    return text


def to_rich(node: LineageNode) -> Tree:
    """A rich Tree; a subtree reached twice (a shared parent) is drawn once and then referenced."""
    seen: set[tuple[str, str | None]] = set()

    def add(parent: Tree, n: LineageNode) -> None:
        key = (n.path, n.digest)
        if key in seen and n.parents:
            parent.add(label(n) + "  [dim](parents shown above)[/]")
            return
        seen.add(key)
        branch = parent.add(label(n))
        for p in n.parents:
            add(branch, p)

    tree = Tree(label(node))
    seen.add((node.path, node.digest))
    for p in node.parents:
        add(tree, p)
    return tree
