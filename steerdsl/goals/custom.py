"""User-defined goals: Python functions (`module:function`) and arithmetic expressions."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from steerdsl.errors import RunError
from steerdsl.plan.model import BinOp, ExprMeasure, Neg, Num, PythonMeasure, Ref


@contextmanager
def _import_path(dirs: Sequence[str | Path]):
    added = [str(Path(d).resolve()) for d in dirs if str(Path(d).resolve()) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for d in added:
            if d in sys.path:
                sys.path.remove(d)


def load_python_measure(
    goal_name: str, measure: PythonMeasure, base_dir: str | Path | None = None
) -> Callable[[str], float]:
    """The function behind `python "module:function"`, importable from `base_dir` (the spec's
    folder), the working directory or an installed package."""
    module_name, sep, func_name = measure.ref.partition(":")
    if not sep or not module_name or not func_name:
        raise RunError(
            f"goal '{goal_name}': python measure '{measure.ref}' is not 'module:function'")
    dirs = [d for d in (base_dir, Path.cwd()) if d is not None]
    try:
        with _import_path(dirs):
            module = importlib.import_module(module_name)
    except Exception as e:
        raise RunError(
            f"goal '{goal_name}': cannot import module '{module_name}' "
            f"({type(e).__name__}: {e}); searched {', '.join(map(str, dirs))} and installed "
            "packages"
        ) from None
    func = getattr(module, func_name, None)
    if func is None or not callable(func):
        raise RunError(f"goal '{goal_name}': module '{module_name}' has no function '{func_name}'")
    return func


def expr_refs(node) -> list[str]:
    """Built-in measure names an expression uses, in first-use order."""
    if isinstance(node, ExprMeasure):
        node = node.expr
    if isinstance(node, Ref):
        return [node.measure]
    if isinstance(node, Neg):
        return expr_refs(node.arg)
    if isinstance(node, BinOp):
        return list(dict.fromkeys(expr_refs(node.left) + expr_refs(node.right)))
    return []


def eval_expr(node, values: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized value of an expression over arrays (length n) of its measures' values, and
    a mask of the places where it divided by zero (their value is NaN)."""
    if isinstance(node, ExprMeasure):
        node = node.expr
    if isinstance(node, Num):
        return np.full(n, node.value), np.zeros(n, dtype=bool)
    if isinstance(node, Ref):
        return values[node.measure].astype(np.float64), np.zeros(n, dtype=bool)
    if isinstance(node, Neg):
        v, z = eval_expr(node.arg, values, n)
        return -v, z
    if isinstance(node, BinOp):
        a, za = eval_expr(node.left, values, n)
        b, zb = eval_expr(node.right, values, n)
        zero = za | zb
        with np.errstate(all="ignore"):
            if node.op == "+":
                out = a + b
            elif node.op == "-":
                out = a - b
            elif node.op == "*":
                out = a * b
            else:
                div0 = b == 0
                out = np.where(div0, np.nan, a / np.where(div0, 1.0, b))
                zero = zero | div0
        return out, zero
    raise TypeError(f"not an expression node: {node!r}")
