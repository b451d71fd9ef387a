"""The one exception type for bad user input.

Anything the user can fix (a missing file, a malformed line, an unknown key) raises `UserError` with a one-line
message that names the file, line or key and what was expected. Both CLIs turn it into that line on stderr and
exit code 2 (`UserErrorGroup`, the base of `refuseu-data` and `refuseu`); everything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import sys

import click

EXIT_USER_ERROR = 2


class UserError(Exception):
    """Bad input the user can fix. `str(err)` is the complete one-line message."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class UserErrorGroup(click.Group):
    """A click group that reports `UserError` (and any other type in `user_errors`) as one line on stderr with exit
    code 2."""

    user_errors: tuple[type[Exception], ...] = (UserError,)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except self.user_errors as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(EXIT_USER_ERROR)


def where(path, line: int | None = None) -> str:
    """Format a location prefix: 'file:line' or 'file'."""
    return f"{path}:{line}" if line is not None else f"{path}"
