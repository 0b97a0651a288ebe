"""The run-wide spending limit and cost ledger: one Ledger per run, shared by every Caller
(the generate stages' and the LLM judges'), so everything the run pays counts toward `budget`."""

from __future__ import annotations

from steerdsl.errors import RunError


def usd(amount: float) -> str:
    """$5.00, $0.0123; below a hundredth of a cent, two significant digits ($2.3e-05)."""
    if amount >= 1:
        return f"${amount:.2f}"
    if amount == 0 or amount >= 1e-4:
        return f"${amount:.4f}"
    return f"${amount:.2g}"


class BudgetExceeded(RunError):
    """The budget was used up: raised after the work stopped cleanly (everything answered is
    stored). The runner records the run as 'budget'."""

    def __init__(self, spent: float, limit: float) -> None:
        # Requests already sent when the budget was reached are paid and stored: say so.
        over = f", {usd(spent - limit)} over because of requests already in flight" \
            if spent > limit else ""
        super().__init__(f"budget {usd(limit)} reached: spent {usd(spent)}{over}; answers so "
                         "far are stored: raise the budget and rerun to continue")
        self.spent = spent
        self.limit = limit


class Ledger:
    """What a run has spent (USD), against an optional limit. Charged by every Caller with the
    cost of each answered request; requests without a price (NULL cost: litellm does not know
    the model and the spec declares no price) count as zero. One event loop charges it at a
    time (asyncio, one thread), so no lock."""

    def __init__(self, limit_usd: float | None = None, spent_usd: float = 0.0) -> None:
        self.limit = None if limit_usd is None else float(limit_usd)
        self.spent = float(spent_usd)

    def charge(self, cost: float | None) -> None:
        if cost:
            self.spent += cost

    @property
    def exhausted(self) -> bool:
        """No new request may start (never, without a limit)."""
        return self.limit is not None and self.spent >= self.limit

    def exceeded(self) -> BudgetExceeded:
        if self.limit is None:
            raise ValueError("a ledger without a limit is never exceeded")
        return BudgetExceeded(self.spent, self.limit)
