"""Turning what a user or model typed into a safe, bounded query: time ranges, steps, validation."""
