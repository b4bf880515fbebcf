"""The dry run's ledger of would-be inserts: what it keeps comes back exactly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from kyzconsole.db.writer import Outcome, WriteResult
from kyzconsole.engine.dry_run import DryRunLedger
from kyzconsole.record import IntervalRecord


def record(
    end: datetime,
    pulses: int,
    total_kwh: Decimal | None = None,
    r17_exclude: bool | None = None,
    kyz_invalid_alarm: bool | None = None,
) -> IntervalRecord:
    kwh, kw = Decimal("0.250000"), Decimal("1.000000")
    return IntervalRecord.trusted(end, pulses, kwh, kw, total_kwh, r17_exclude, kyz_invalid_alarm)


def test_a_later_batch_meets_what_an_earlier_one_would_have_inserted() -> None:
    ledger = DryRunLedger(lambda a, b: a == b)
    folder = Path(ledger._dir.name)
    first = record(datetime(2026, 3, 1, 0, 15), 1, total_kwh=Decimal("12345.670000"))
    second = record(datetime(2026, 3, 1, 0, 30), 1, r17_exclude=True, kyz_invalid_alarm=False)
    stored = record(datetime(2026, 3, 1, 0, 45), 9)
    settled = ledger.settle(
        [
            WriteResult(first, Outcome.INSERTED),
            WriteResult(second, Outcome.INSERTED),
            WriteResult(stored, Outcome.DUPLICATE, stored),  # the database's answer stands
        ]
    )
    assert [r.outcome for r in settled] == [Outcome.INSERTED, Outcome.INSERTED, Outcome.DUPLICATE]

    changed = record(datetime(2026, 3, 1, 0, 30), 2, r17_exclude=True, kyz_invalid_alarm=False)
    fresh = record(datetime(2026, 3, 1, 1, 0), 1)
    later = ledger.settle(
        [
            WriteResult(first, Outcome.INSERTED),
            WriteResult(changed, Outcome.INSERTED),
            WriteResult(fresh, Outcome.INSERTED),
        ]
    )
    assert [(r.outcome, r.existing) for r in later] == [
        (Outcome.DUPLICATE, first),  # came back with every value, None and scale included
        (Outcome.CONFLICT, second),
        (Outcome.INSERTED, None),
    ]
    ledger.close()
    assert not folder.exists()
