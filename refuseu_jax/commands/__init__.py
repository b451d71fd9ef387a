"""`refuseu` subcommands, one module per area; registered in refuseu_jax/cli.py."""
