"""Entry point for `python -m bulkop`."""

from bulkop.cli import main

if __name__ == "__main__":
    main()
