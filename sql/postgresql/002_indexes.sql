-- Optional reporting indexes for PostgreSQL plants: the same two as ../002_indexes.sql, for the
-- same reasons (read the comments there). The primary key on IntervalEnd already serves every
-- time-range query; add these only when a panel filtering on these columns is slow.
-- Apply by hand as the table's owner; re-running is safe (IF NOT EXISTS). Needs PostgreSQL 11+.

-- Partial index: only the rows that carry a meter register reading.
CREATE INDEX IF NOT EXISTS IX_KYZ_Interval_Total_kWh
    ON KYZ_Interval (IntervalEnd)
    INCLUDE (Total_kWh)
    WHERE Total_kWh IS NOT NULL;

-- Flagged intervals across a long history, without a scan of the table.
CREATE INDEX IF NOT EXISTS IX_KYZ_Interval_Exclude_Alarm
    ON KYZ_Interval (R17Exclude, KyzInvalidAlarm)
    INCLUDE (IntervalEnd, kWh, kW, PulseCount);
