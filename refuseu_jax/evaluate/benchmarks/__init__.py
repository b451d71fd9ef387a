"""External toxicity benchmarks in `refuseu eval`: PolygloToxicityPrompts and RTP-LX, from local files."""

from data_tools.errors import UserError


class FilesMissing(UserError):
    """A benchmark's files are not where the config says (as opposed to being there but malformed): with
    `benchmarks.on_missing: skip` the benchmark is reported as absent instead of stopping the run."""
