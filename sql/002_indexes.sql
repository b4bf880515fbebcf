-- Optional reporting indexes on dbo.KYZ_Interval (T-SQL). Apply by hand after
-- 001_create_table.sql if the panels need them; kyzconsole never runs DDL here. Re-running is
-- safe: each index is created only if it is missing.
--
-- The clustered primary key on IntervalEnd already serves every time-range query (the views,
-- kyzconsole report and gaps). At one row per 15 minutes a year is 35,040 rows, which SQL Server
-- scans in milliseconds: add these only when a panel that filters on the columns below is slow,
-- typically with several years of history on a small Azure SQL tier.

-- Pays off when the PLC sends total_kWh only on some intervals (the rest NULL) and a panel
-- reads the latest meter register ("SELECT TOP (1) IntervalEnd, Total_kWh ... WHERE Total_kWh
-- IS NOT NULL ORDER BY IntervalEnd DESC"), or charts the register over years: the filtered
-- index holds only the rows that have a reading. No gain when every row carries Total_kWh.
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_KYZ_Interval_Total_kWh' AND object_id = OBJECT_ID(N'dbo.KYZ_Interval')
)
    CREATE NONCLUSTERED INDEX IX_KYZ_Interval_Total_kWh
        ON dbo.KYZ_Interval (IntervalEnd)
        INCLUDE (Total_kWh)
        WHERE Total_kWh IS NOT NULL;
GO

-- Pays off for panels and audits that list flagged intervals across a long history ("which
-- intervals were R17-excluded or alarmed this year?"): a seek on the flags instead of a scan of
-- the whole table. Flagged rows are rare, so the index is small; it costs a little on each insert.
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_KYZ_Interval_Exclude_Alarm' AND object_id = OBJECT_ID(N'dbo.KYZ_Interval')
)
    CREATE NONCLUSTERED INDEX IX_KYZ_Interval_Exclude_Alarm
        ON dbo.KYZ_Interval (R17Exclude, KyzInvalidAlarm)
        INCLUDE (IntervalEnd, kWh, kW, PulseCount);
GO
