"""The HTML report: `write_report([store or spec, ...], out)` (docs/report.md).

One store gives a full report; two give a comparison of their headline metrics followed by
both reports. The page is self-contained (inline CSS and SVG) and opens offline.
"""

from __future__ import annotations

from pathlib import Path

from steerdsl.report.data import Variant

SPEC_SUFFIX = ".steer"


def resolve_store(path: str | Path) -> Path:
    """A store path from a store or a spec argument (a spec names its store)."""
    from steerdsl.errors import UsageError

    path = Path(path)
    if path.suffix == SPEC_SUFFIX:
        if not path.exists():
            raise UsageError(f"no spec at {path}")
        import steerdsl  # the front end, only when a spec is given
        from steerdsl.store.owner import check_spec_store

        plan = steerdsl.load(path).plan()
        check_spec_store(plan)  # another spec's results are not this spec's
        return Path(plan.experiment.store)
    return path.expanduser()


def default_output(store: Path) -> Path:
    return store.with_name(f"{store.stem}.report.html")


def render_report(stores: list[str | Path], variant: Variant = "binned") -> str:
    """The report's HTML for one store, or a comparison of two."""
    from importlib import metadata

    from steerdsl.errors import UsageError
    from steerdsl.report.load import load_store

    if not 1 <= len(stores) <= 2:
        raise UsageError("report takes one store (or spec), or two to compare")
    from steerdsl.store.db import store_errors

    paths = [resolve_store(s) for s in stores]
    data = []
    for p in paths:
        con = _open(p)
        try:
            with store_errors(p):
                data.append(load_store(con, str(p), variant))
        finally:
            con.close()
    from steerdsl.report.render import page

    names = [d.header.experiment or p.stem for d, p in zip(data, paths)]
    if len(names) == 2 and names[0] == names[1]:
        names = [f"{names[0]} ({paths[0].name})", f"{names[1]} ({paths[1].name})"]
    try:
        version = metadata.version("steerdsl")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return page(data, names, variant, version)


def _open(path: Path):
    """Read-only, with the installed version's views (the store's own may be older)."""
    import duckdb

    from steerdsl.errors import StoreError
    from steerdsl.store.query import open_for_query

    try:
        return open_for_query(path)
    except duckdb.Error as e:
        raise StoreError(f"{path} is not a steerdsl store ({str(e).splitlines()[0]})") from None


def _is_html(path: Path) -> bool:
    from steerdsl.outputs import head_text

    start = head_text(path, 512).lstrip().lower()
    return path.suffix.lower() in (".html", ".htm") and start.startswith(("<!doctype html",
                                                                          "<html"))


def write_report(stores: list[str | Path], out: str | Path | None = None,
                 variant: Variant = "binned", force: bool = False) -> Path:
    """Write the report; the default output is `<first store's stem>.report.html` next to it.
    Never over a store or spec it reads; over an existing file other than an HTML page only
    with `force` (steerdsl.outputs)."""
    from steerdsl.outputs import OutputKind, check_output, write_output

    kind = OutputKind("the report", "an HTML report", _is_html)
    target = Path(out) if out else default_output(resolve_store(stores[0]))
    inputs = [*stores, *(resolve_store(s) for s in stores)]
    check_output(target, kind, inputs=inputs, force=force)
    html = render_report(stores, variant)
    write_output(target, kind, lambda path: path.write_text(html, encoding="utf-8"))
    return target
