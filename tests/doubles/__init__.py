"""Test doubles for backends that cannot run on the test machine."""
