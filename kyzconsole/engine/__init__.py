"""The engine: wires sources to records, spool and writer; owns retries and counters."""
