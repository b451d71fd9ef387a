"""`refuseu-data`: build, inspect and audit the RefusEU dataset."""

from __future__ import annotations

import click

from data_tools.errors import UserErrorGroup


@click.group(cls=UserErrorGroup)
def main():
    """Build the RefusEU multilingual refusal-preference dataset."""


from data_tools.commands.build import COMMANDS as BUILD_COMMANDS  # noqa: E402
for _command in BUILD_COMMANDS: main.add_command(_command)  # noqa: E701
from data_tools.commands.audit import COMMANDS as AUDIT_COMMANDS  # noqa: E402
for _command in AUDIT_COMMANDS: main.add_command(_command)  # noqa: E701

if __name__ == "__main__":
    main()
