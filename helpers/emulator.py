"""The AWS emulator for local mode: moto server on loopback, its request log silenced.

Run by helpers.lab as `python -m helpers.emulator --port N --lab-dir DIR` (the folder is
passed so the lab can recognise its own process by command line).
"""
from __future__ import annotations

import argparse
import logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lab-dir", required=True)
    args = parser.parse_args(argv)
    # One line per request otherwise; the lab's log would grow without telling anyone anything.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import main as moto_main

    moto_main(["--host", "127.0.0.1", "--port", str(args.port)])  # loopback only, never 0.0.0.0


if __name__ == "__main__":
    main()
