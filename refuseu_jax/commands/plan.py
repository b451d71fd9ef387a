"""`refuseu plan`: memory per device and step time of a training config on a TPU slice or a GPU node."""

from __future__ import annotations

import click


@click.command("plan")
@click.option("--config", type=click.Path(dir_okay=False, exists=True), required=True, help="Training YAML.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--slice", "slice_", default=None, metavar="TYPE",
              help="TPU accelerator type, e.g. v5p-64 (default: the config's 'slice').")
@click.option("--gpus", default=None, metavar="NxTYPE", help="GPU node, e.g. 8xH100, 1xH200, 4xA100-80GB.")
@click.option("--mfu", type=float, default=None, help="Model FLOPs utilisation assumed for the step time "
              "(default 0.40).")
@click.option("--headroom", type=float, default=None, help="Share of HBM kept free (default 0.10).")
@click.option("--compile", "compile_", is_flag=True,
              help="Also compile the step on this machine's devices (as many as the target has) and print XLA's "
                   "memory analysis beside the estimate.")
def plan_command(config, overrides, slice_, gpus, mfu, headroom, compile_):
    """Will this config fit, and how long will a step take? Bytes per device by part, for the config and its
    variants (full/LoRA, remat, frozen/precomputed reference)."""
    from data_tools.configuration import load_config
    from data_tools.errors import UserError
    from refuseu_jax import plan
    from refuseu_jax.train.config import TrainConfig

    cfg = load_config(TrainConfig, config, overrides)
    if slice_ and gpus:
        raise UserError("give --slice or --gpus, not both")
    if gpus:
        target = plan.parse_gpus(gpus)
    elif slice_ or cfg.slice:
        target = plan.parse_slice(slice_ or cfg.slice)
    else:
        raise UserError(f"{config}: no key 'slice'; give --slice (e.g. v5p-64) or --gpus (e.g. 8xH100)")
    click.echo(plan.report(cfg, target, mfu=plan.DEFAULT_MFU if mfu is None else mfu,
                           headroom=plan.DEFAULT_HEADROOM if headroom is None else headroom))
    if compile_:
        import jax

        if jax.device_count() != target.devices:
            raise UserError(f"--compile: this machine has {jax.device_count()} devices, {target.label} has "
                            f"{target.devices}")
        stats = plan.compiled_memory(cfg, jax.devices())
        est = plan.estimate(cfg, target.devices, plan.variants(cfg)[0])
        click.echo(f"\nXLA ({jax.devices()[0].device_kind}), the config's own setting: "
                   f"{plan.peak_bytes(stats) / plan.GiB:.2f} GiB per device (arguments "
                   f"{stats.argument_size_in_bytes / plan.GiB:.2f}, temporaries {stats.temp_size_in_bytes / plan.GiB:.2f}); "
                   f"estimate {est.total / plan.GiB:.2f} GiB")
