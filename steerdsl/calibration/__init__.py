"""Calibrated requests (docs/method.md, "Calibrated requests"): fitting how a model's realized
movement follows the requested one (fit.py), and choosing what to ask so that the fit lands on
the target (requests.py). Pure numpy over plan types; the calibrate stage stores the fit."""
