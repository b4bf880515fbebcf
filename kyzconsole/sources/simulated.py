"""A plausible plant load: intervals for demos, tests and benchmarks (no I/O)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from kyzconsole.record import IntervalRecord

PULSE_KWH = Decimal("0.25")  # the meter's KYZ pulse weight (Ke)


def plant_intervals(
    start: datetime,
    count: int,
    *,
    interval_minutes: int = 15,
    seed: int = 1,
    total_kwh: Decimal = Decimal("100000"),
    flag_every: int = 0,
) -> Iterator[IntervalRecord]:
    """`count` consecutive intervals whose first ends at `start`.

    Weekdays ramp to a day-shift peak, nights and weekends idle near base load; kWh is whole
    pulses x PULSE_KWH, kW = kWh x 60 / interval_minutes, total_kWh rises. Every
    `flag_every`-th interval (if set) carries r17Exclude.
    """
    rng = random.Random(seed)
    step = timedelta(minutes=interval_minutes)
    per_hour = Decimal(60) / Decimal(interval_minutes)
    end = start
    for n in range(count):
        hour = (end - step).hour + (end - step).minute / 60
        weekday = (end - step).weekday() < 5
        shift = max(0.0, math.sin(math.pi * (hour - 6) / 12)) if 6 <= hour <= 18 else 0.0
        demand_kw = 250 + (650 if weekday else 120) * shift + rng.gauss(0, 20)
        pulses = max(0, round(demand_kw * interval_minutes / 60 / float(PULSE_KWH)))
        kwh = pulses * PULSE_KWH
        total_kwh += kwh
        yield IntervalRecord.trusted(
            interval_end=end,
            pulse_count=pulses,
            kwh=kwh.quantize(Decimal("0.000001")),
            kw=(kwh * per_hour).quantize(Decimal("0.000001")),
            total_kwh=total_kwh.quantize(Decimal("0.000001")),
            r17_exclude=bool(flag_every) and n % flag_every == flag_every - 1,
            kyz_invalid_alarm=False,
        )
        end += step
