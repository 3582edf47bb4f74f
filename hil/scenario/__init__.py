"""Scenarios: the YAML language (steps, faults, expectations), safe condition expressions
and the evaluation of expectations over a finished trace. The runner builds on this API.
"""
