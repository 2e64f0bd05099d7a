"""A small AST scanner for the project's security rules (used by test_scan.py, which also feeds it bad code).

Rules (docs/reliability.md): no shell (``shell=True``, ``os.system``/``os.popen``, a command given as one
string); nothing unpickled (no pickle/dill/joblib/shelve/marshal, no ``allow_pickle=True``, no
``read_pickle``); ``torch.load`` only with ``weights_only=True``; YAML only through ``safe_load``; no
``eval``/``exec``; no code binding all interfaces (``0.0.0.0``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SCANNED = ("vlaser", "flows", "pipelines", "dashboard", "scripts", "benchmarks")
PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}
SHELL_CALLS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput")}
PICKLE_CALLS = {"read_pickle", "to_pickle"}
UNSAFE_YAML = {"load", "unsafe_load", "full_load", "load_all", "unsafe_load_all", "full_load_all"}


@dataclass(frozen=True)
class Violation:
    rule: str
    where: str  # file:line

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}"


def _name(node: ast.AST) -> str:
    """Dotted name of a call's function (``subprocess.run``, ``torch.load``); '' when not a plain name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _name(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    return ""


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_const(node: ast.expr | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _stringish(node: ast.expr) -> bool:
    """A command built as text: a string literal, an f-string, string concatenation or formatting."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return _stringish(node.left) or _stringish(node.right)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join")


def _call_rules(call: ast.Call) -> list[str]:
    name = _name(call.func)
    head, _, tail = name.rpartition(".")
    found = []
    shell = _kw(call, "shell")
    if shell is not None and not _is_const(shell, False):
        found.append("shell=True (use an argument list)")
    if (head.split(".")[-1], tail) in SHELL_CALLS:
        found.append(f"{name} runs a shell")
    if head.endswith("subprocess") and tail in SUBPROCESS_CALLS and call.args and _stringish(call.args[0]):
        found.append(f"{name} with a command string (use an argument list)")
    if tail == "load" and head.endswith("torch") and not _is_const(_kw(call, "weights_only"), True):
        found.append("torch.load without weights_only=True")
    if _is_const(_kw(call, "allow_pickle"), True):
        found.append(f"{name}(allow_pickle=True)")
    if tail in PICKLE_CALLS:
        found.append(f"{name} unpickles")
    if head.split(".")[-1] == "yaml" and tail in UNSAFE_YAML:
        found.append(f"{name} (use yaml.safe_load)")
    if isinstance(call.func, ast.Name) and name in ("eval", "exec"):
        found.append(f"{name}() of a string")
    return found


def scan_source(text: str, filename: str = "<string>") -> list[Violation]:
    """Every rule violation in one Python source."""
    tree = ast.parse(text, filename)
    out: list[Violation] = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            out += [Violation(f"imports {a.name}", where) for a in node.names if a.name.split(".")[0] in PICKLE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PICKLE_MODULES:
            out.append(Violation(f"imports from {node.module}", where))
        elif isinstance(node, ast.Call):
            out += [Violation(rule, where) for rule in _call_rules(node)]
        elif isinstance(node, ast.Constant) and node.value in ("0.0.0.0", "::"):
            out.append(Violation(f"binds all interfaces ({node.value!r})", where))
    return out


def python_files(repo: Path) -> list[Path]:
    files = []
    for top in SCANNED:
        base = repo / top
        if base.is_file() and base.suffix == ".py":
            files.append(base)
        elif base.is_dir():
            files += [p for p in base.rglob("*.py") if "__pycache__" not in p.parts]
    return sorted(files)


def scan_repo(repo: Path) -> list[Violation]:
    out = []
    for path in python_files(repo):
        out += scan_source(path.read_text(encoding="utf-8"), str(path.relative_to(repo)))
    return out
