"""Logistics adapters' parts that need no database: shipping labels (`labels.py`) and the
sandbox carrier's rules, numbers, schedule and failure knob (its table-backed adapter and the
registry are in `app/infra/db/repositories/sandbox_carrier.py`)."""
