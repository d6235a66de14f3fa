"""The lab's memory between notebooks: resource ids and endpoints, one JSON file per mode.

Phase 2 records the cache endpoint here, phase 4 the database; cleanup reads it to find
what exists even after a failed run.
"""
from __future__ import annotations

import json

from helpers.config import lab_dir


def state_path(mode: str):
    return lab_dir() / f"state-{mode}.json"


def load_state(mode: str) -> dict:
    path = state_path(mode)
    return json.loads(path.read_text()) if path.exists() else {}


def update_state(mode: str, **values) -> dict:
    """Merge values into the mode's state file (None removes a key) and return the result."""
    state = load_state(mode)
    for key, value in values.items():
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
    path = state_path(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)  # atomic: a crash mid-write never leaves half a file
    return state
