"""User-defined goals: Python functions (`module:function`) and arithmetic expressions."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager, redirect_stdout
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from types import ModuleType

import numpy as np

from steerdsl.errors import RunError
from steerdsl.lang.files import split_python_ref
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
    """The function behind `python "module:function"`: the module in `base_dir` (the spec's
    folder) when there is one, else from the Python path, as `check` finds it."""
    parts = split_python_ref(measure.ref)
    if parts is None:
        raise RunError(
            f"goal '{goal_name}': python measure '{measure.ref}' is not 'module:function'")
    module_name, func_name = parts
    try:
        # A module's top-level code is user code too: its prints must not reach stdout.
        with redirect_stdout(sys.stderr):
            module = _import(module_name, base_dir)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # SystemExit too
        searched = f"{base_dir} and the Python path" if base_dir is not None else \
            "the Python path"
        raise RunError(
            f"goal '{goal_name}': cannot import module '{module_name}' "
            f"({type(e).__name__}: {e}); searched {searched}"
        ) from None
    func = getattr(module, func_name, None)
    if func is None or not callable(func):
        raise RunError(f"goal '{goal_name}': module '{module_name}' has no function "
                       f"'{func_name}' (in {_origin(module)})")
    return func


def _import(module_name: str, base_dir: str | Path | None) -> ModuleType:
    """A module of the spec's folder is imported under a private package named after that
    folder (`_steerdsl_spec_<hash>.textstat`): a file beside the spec wins over an installed
    package of the same name (already imported, or imported by steerdsl itself), and two
    specs' folders may both have a `measures.py`. Its own imports of sibling modules work:
    the folder is on the path while it loads."""
    top = module_name.split(".")[0]
    if base_dir is None or PathFinder.find_spec(top, [str(Path(base_dir).resolve())]) is None:
        return importlib.import_module(module_name)
    folder = str(Path(base_dir).resolve())
    package = "_steerdsl_spec_" + hashlib.sha256(folder.encode()).hexdigest()[:16]
    if package not in sys.modules:
        spec = ModuleSpec(package, None, is_package=True)
        spec.submodule_search_locations = [folder]
        sys.modules[package] = importlib.util.module_from_spec(spec)
    with _import_path([folder]):
        return importlib.import_module(f"{package}.{module_name}")


def _origin(module: ModuleType) -> str:
    return getattr(module, "__file__", None) or "built-in"


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
