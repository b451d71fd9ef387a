"""bench/gpu_session.sh runs every GPU row of the README, keeps going past a failed run and then exits 1."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_session(tmp_path, fail_on: str = ""):
    calls = tmp_path / "calls.txt"
    fake = tmp_path / "fake_python"
    # Stands in for python: records its arguments, writes the --json file, fails for runs matching fail_on.
    fake.write_text(f"""#!/usr/bin/env bash
echo "$*" >> {calls}
args=("$@"); json="${{args[-1]}}"; echo '{{}}' > "$json"
[ -n "{fail_on}" ] && [[ "$*" == *"{fail_on}"* ]] && exit 3
exit 0
""")
    fake.chmod(0o755)
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_session.sh"), str(out)], env={"PYTHON": str(fake),
                          "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    return proc, calls.read_text().splitlines(), out


def test_runs_each_measurement_with_its_flags(tmp_path):
    proc, calls, out = run_session(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert all(call.startswith("bench/accelerator.py --preset llama-3.2-") for call in calls)
    assert [call.split(" --json ")[0].split("accelerator.py ")[1] for call in calls] == [
        "--preset llama-3.2-1b",
        "--preset llama-3.2-1b --remat",
        "--preset llama-3.2-1b --remat --attention dense",
        "--preset llama-3.2-3b --remat",
        "--preset llama-3.2-1b --no-train --decode scan",
        "--preset llama-3.2-3b --no-train --decode scan",
    ]
    assert sorted(p.name for p in out.glob("*.json")) == sorted(
        f"{n}.json" for n in ("1b-cudnn", "1b-cudnn-remat", "1b-dense-remat", "3b-cudnn-remat", "1b-sample-scan",
                              "3b-sample-scan"))


def test_a_failed_run_does_not_stop_the_others_but_fails_the_session(tmp_path):
    proc, calls, _ = run_session(tmp_path, fail_on="--attention dense")
    assert proc.returncode == 1 and len(calls) == 6
