"""Test infrastructure: helpers the tests import, and the Bot API emulator with its own tests
(`botapi/test_*.py`, collected like any other test)."""
