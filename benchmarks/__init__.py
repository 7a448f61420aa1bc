"""``make bench``: the storage layer, the engine and the GUI measured against raw limits.

Run ``python -m benchmarks --help``. Every figure is a ratio against a
baseline measured in the same run on the same synthetic plate; see
``benchmarks/README.md`` for the figures, their targets and the last results.
"""
