"""`python -m training train|predict`: see training/cli/main.py."""

import os
import sys

from training.cli.main import main

try:
    sys.exit(main())
except BrokenPipeError:  # `python -m training runs | head`: the reader left, which is no error
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
    sys.exit(1)
