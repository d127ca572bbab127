"""Argument types the command lines share: a bad number is refused by argparse, naming the
option, before any data is read or any epoch runs."""
from __future__ import annotations

import argparse
import math


def positive_int(s: str) -> int:
    if not s.isdigit() or int(s) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {s!r}")
    return int(s)


def nonnegative_int(s: str) -> int:
    if not s.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number 0 or more, got {s!r}")
    return int(s)


def positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite, positive number, got {s!r}")
    return v
