"""External toxicity benchmarks in `refuseu eval`: PolygloToxicityPrompts and RTP-LX, from local files."""
