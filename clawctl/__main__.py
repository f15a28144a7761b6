"""`python -m clawctl`: the same as the `clawctl` command."""

from clawctl.cli.main import main

if __name__ == "__main__":
    main()
