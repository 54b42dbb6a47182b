"`python -m bpnotes …` runs the bpnotes command (written by hand: no notebook exports this file)"
import sys

from bpnotes.cli import main

if __name__ == '__main__':
    sys.exit(main())
