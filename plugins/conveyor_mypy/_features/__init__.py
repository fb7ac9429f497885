"""One module per feature; the dispatcher (``conveyor_mypy._plugin``) routes hooks here."""
