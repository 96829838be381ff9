"""What every `helpdesk` command shares: the shape of its handler and the usage exit code."""

from __future__ import annotations

import argparse
from collections.abc import Callable

EXIT_USAGE = 2

# A handler gets the parsed arguments and the parser (to report a usage error the way
# argparse does) and returns the exit code.
Command = Callable[[argparse.Namespace, argparse.ArgumentParser], int]
