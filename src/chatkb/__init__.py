"""chatkb: offline knowledge-base question answering with cited sources."""

__all__ = ["__version__"]

__version__ = "0.1.0"
