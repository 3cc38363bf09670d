"""bulkop: inspect and watch long-running bulk operations on HTTP APIs."""

__version__ = "0.1.0"
