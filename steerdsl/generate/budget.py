"""A USD spending limit shared by the generate stages of one run."""

from __future__ import annotations

from steerdsl.errors import RunError


class BudgetExceeded(RunError):
    """Raised by a generate stage after it stopped cleanly (everything answered is stored)
    because the budget was used up. The runner records the run as 'budget'."""

    def __init__(self, spent: float, limit: float) -> None:
        super().__init__(f"budget of ${limit:.4f} reached (spent ${spent:.4f}); answers so far "
                         "are stored: raise the budget and rerun to continue")
        self.spent = spent
        self.limit = limit


class Budget:
    """Costs litellm does not know (NULL cost) count as zero."""

    def __init__(self, limit_usd: float, spent_usd: float = 0.0) -> None:
        self.limit = float(limit_usd)
        self.spent = float(spent_usd)

    def add(self, cost: float | None) -> None:
        if cost:
            self.spent += cost

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.limit

    def exceeded(self) -> BudgetExceeded:
        return BudgetExceeded(self.spent, self.limit)
