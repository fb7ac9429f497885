"""The conveyor mypy plugin (not written yet: see the static-checking issue).

Until it lands, conveyor's public API is checked by plain typing only. The package
is shipped with the distribution so that ``plugins = conveyor_mypy`` can be enabled
in a mypy config as soon as it exists.
"""
