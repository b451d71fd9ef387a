"""`refuseu`: convert, train, sample, evaluate and export Llama models for multilingual refusal alignment."""

from __future__ import annotations

import sys

import click

from data_tools.errors import EXIT_USER_ERROR, UserError, UserErrorGroup
from refuseu_jax.commands.abliterate import abliterate
from refuseu_jax.commands.evaluate import eval_command, report_command
from refuseu_jax.commands.models import convert, models
from refuseu_jax.commands.paper import paper
from refuseu_jax.commands.plan import plan_command
from refuseu_jax.commands.quickstart import quickstart
from refuseu_jax.commands.sample import sample
from refuseu_jax.commands.train import export_run, train
from refuseu_jax.models.config import ModelConfigError


class RefuseuGroup(UserErrorGroup):
    """`UserError`s, the model's own configuration errors and a subcommand's bad option values
    (`refuseu quickstart --examples 0`) as one line on stderr with exit code 2, instead of a traceback or click's
    usage block."""

    user_errors = (UserError, ModelConfigError)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            where = err.ctx.command_path if err.ctx is not None else ctx.command_path
            click.echo(f"error: {where}: {err.format_message()}", err=True)
            sys.exit(EXIT_USER_ERROR)


@click.group(cls=RefuseuGroup)
def main():
    """RefusEU-JAX: DPO refusal alignment of Llama models in JAX."""
    # Every command may touch devices, and a multi-host job must join before any of them does. A no-op unless
    # JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID or REFUSEU_DISTRIBUTED=1 is set.
    from refuseu_jax.parallel import initialize_distributed

    initialize_distributed()


main.add_command(models)
main.add_command(convert)
main.add_command(sample)
main.add_command(eval_command)
main.add_command(report_command)
main.add_command(train)
main.add_command(export_run)
main.add_command(quickstart)
main.add_command(paper)
main.add_command(plan_command)
main.add_command(abliterate)


def run():
    """The `refuseu` console script: `main`, under tcmalloc only when asked (REFUSEU_TCMALLOC=1 and the machine has
    it; see refuseu_jax.allocator: ~15% faster CPU training steps)."""
    from refuseu_jax.allocator import use_tcmalloc

    use_tcmalloc()
    main()


if __name__ == "__main__":
    run()
