"""Probes: density-ratio weights, drawing, the reference CSV layout, storing and exporting."""
