"""`python -m engine.bench [CORPUS]` times the engine against the original loop;
`python -m engine.bench quality|throughput` measures the model family's bars, and
`python -m engine.bench threads` the presets' wall-clock speed by BLAS threads."""

import sys

from . import models, speed, threads

MODEL_MODES = ("quality", "quality-run", "throughput")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in MODEL_MODES:
        return models.main(argv)
    if argv[:1] == ["threads"]:
        return threads.main(argv)
    return speed.main(argv)


if __name__ == "__main__":
    sys.exit(main())
