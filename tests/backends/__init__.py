"""Pytest fixtures that start real backends (see plugin.py)."""
