"""`torchrun --nproc_per_node=N -m tools.ddp [options]`: see `tools.ddp.train`."""

import sys

from tools.answer_key import run_main


def main(argv=None):
    def train_main(argv):
        from tools.ddp.train import main  # imports the answers (solutions/)

        return main(argv)

    return run_main(train_main, sys.argv[1:] if argv is None else argv,
                    "torchrun -m tools.ddp")


if __name__ == "__main__":
    sys.exit(main())
