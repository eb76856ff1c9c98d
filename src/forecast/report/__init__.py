"""HTML rendering of run results."""
