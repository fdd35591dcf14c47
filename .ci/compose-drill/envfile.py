"""Write the drill's .env from .env.example, as an operator would fill it in.

Usage: envfile.py EXAMPLE OUT [KEY=VALUE ...]

Fresh random secrets every run (so checks.py can look for them in images),
the fixed-latency engine with 8 s jobs (long enough to kill a worker mid-job),
and a short stall time so a killed job comes back within the drill.
"""

import re
import secrets
import sys

DRILL = {
    "SECRET_KEY": secrets.token_hex(32),
    "AWS_ACCESS_KEY_ID": "drill" + secrets.token_hex(8),
    "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20),
    "FLOWER_BASIC_AUTH": "drill:" + secrets.token_hex(12),
    "ENGINE": "fixed",
    "FIXED_ENGINE_MS": "8000",
    "FIXED_ENGINE_STEPS": "8",
    "STALL_SECONDS": "20",
}


def main(example: str, out: str, extra: list[str]) -> None:
    values = dict(DRILL, **dict(item.split("=", 1) for item in extra))
    lines = []
    for line in open(example, encoding="utf-8").read().splitlines():
        m = re.match(r"#?\s*([A-Z][A-Z0-9_]*)=", line)
        if m and m.group(1) in values:
            line = f"{m.group(1)}={values.pop(m.group(1))}"
        lines.append(line)
    lines += [f"{key}={value}" for key, value in values.items()]
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
