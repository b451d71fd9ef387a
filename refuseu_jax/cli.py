"""`refuseu`: convert, train, sample, evaluate and export Llama models for multilingual refusal alignment."""

from __future__ import annotations

import click

from data_tools.cli import UserErrorGroup


@click.group(cls=UserErrorGroup)
def main():
    """RefusEU-JAX: DPO refusal alignment of Llama models in JAX."""


if __name__ == "__main__":
    main()
