"""`bulkop watch`: the polling engine (engine.py), its displays (live, lines, ndjson, journal)
and the command (command.py). Nothing is imported here, so a module loads only what it uses."""
