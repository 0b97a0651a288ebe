"""What endpoints were seen to do with request parameters: the `model_capabilities` table.

llama.cpp's server, for one, answers a single choice whatever `n` asks; the generate stage then
requests the missing samples one by one. Remembering that per endpoint lets later runs send
one request per sample from the start, and lets `compile` count requests truthfully.

Keyed by what identifies the endpoint (the litellm model id and the api_base), not by the
spec's model name: two names for one endpoint share what was seen, and one name moved to
another server starts afresh.
"""

from __future__ import annotations

from steerdsl.plan.model import ModelPlan


def model_key(model: ModelPlan) -> str:
    from steerdsl.llm.completion import model_id  # light: litellm itself is imported lazily

    mid = model_id(model)
    where = model.api_base or ", ".join(sorted(d.api_base for d in model.deployments))
    return f"{mid} @ {where}" if where else mid


def honoured(con, model: ModelPlan, param: str) -> bool | None:
    """Whether the endpoint honoured `param` when last seen; None when never seen."""
    rows = con.execute("SELECT honoured FROM model_capabilities WHERE model_key = ? "
                       "AND param = ?", [model_key(model), param]).fetchall()
    return bool(rows[0][0]) if rows else None


def not_honoured(con, param: str) -> set[str]:
    """Model keys of the endpoints seen ignoring `param`."""
    return {k for (k,) in con.execute("SELECT model_key FROM model_capabilities WHERE "
                                      "param = ? AND NOT honoured", [param]).fetchall()}


def record(con, model: ModelPlan, param: str, was_honoured: bool) -> None:
    con.execute("INSERT OR REPLACE INTO model_capabilities VALUES (?, ?, ?, now())",
                [model_key(model), param, was_honoured])
