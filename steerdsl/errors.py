"""Errors that reach the user as a message and an exit code, never as a traceback.

Spec errors (exit 2) carry diagnostics with places: steerdsl.lang.diagnostics. Everything a
run can fail on for a reason the user can act on (a missing file, a store in use, a model that
keeps failing) is a RunError (exit 1).
"""

from __future__ import annotations


class SteerError(Exception):
    """Base of the errors the CLI turns into a message and an exit code."""

    exit_code = 1


class UsageError(SteerError):
    exit_code = 2


class RunError(SteerError):
    exit_code = 1


class StoreError(RunError):
    pass
