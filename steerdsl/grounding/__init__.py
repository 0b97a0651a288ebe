"""Groundedness judging, pure: reading a judge's verdict (parse), the prompt it is asked with
and the A/B order (prompt), the identity its verdicts are cached under (identity). No store,
no requests: steerdsl.stages.judge runs the stage."""
