"""`python -m tracker …` is the `tracker` command (handy for `python -X importtime`)."""

from tracker.cli.app import main

if __name__ == "__main__":
    main()
