-- Dashboard views for Grafana on the plant TVs (T-SQL: Azure SQL / SQL Server 2016 SP1+).
-- Apply by hand after 001_create_table.sql; kyzconsole never runs DDL here. Re-running is safe:
-- CREATE OR ALTER replaces each view in place and keeps its permissions.
--
-- Energy rules (the same in the SQLite and PostgreSQL versions, and in kyzconsole's reports):
-- * IntervalEnd is local wall-clock time at the END of an interval. Days and months are bucketed
--   on the interval START, IntervalEnd - 15 minutes, so the row ending 00:00:00 belongs to the
--   day before. The interval length is hard-coded as 15 (and 96 = 1440 / 15 intervals a day):
--   if KYZ_INTERVAL_MINUTES is not 15, change every 15 and 96 below.
-- * Energy (kWh_sum) counts every interval, flagged ones included. Demand peaks leave out
--   intervals with KyzInvalidAlarm = 1; billing peaks also leave out R17Exclude = 1.
--   A NULL flag counts as not set.
-- * Ties for a peak go to the earliest interval.
-- * "Now" is the plant's local time: Azure SQL's clock is UTC, so the views convert it with
--   AT TIME ZONE. EDIT the zone name below to your plant's Windows time zone
--   (SELECT name FROM sys.time_zone_info). If the PLC clock is kept on standard time all year,
--   use a zone without daylight saving (for example N'Central America Standard Time' for UTC-6).

-- The newest row, with its age. is_stale = 1 when no row arrived for more than two intervals.
CREATE OR ALTER VIEW dbo.vw_KYZ_LatestInterval AS
SELECT TOP (1)
    i.IntervalEnd,
    i.PulseCount,
    i.kWh,
    i.kW,
    i.Total_kWh,
    i.R17Exclude,
    i.KyzInvalidAlarm,
    DATEDIFF(MINUTE, i.IntervalEnd, n.plant_now) AS age_minutes,
    CASE WHEN DATEDIFF(MINUTE, i.IntervalEnd, n.plant_now) > 2 * 15 THEN 1 ELSE 0 END AS is_stale
FROM dbo.KYZ_Interval AS i
CROSS JOIN (
    SELECT CAST(SYSDATETIMEOFFSET() AT TIME ZONE N'Eastern Standard Time' AS DATETIME2(0))
        AS plant_now
) AS n
ORDER BY i.IntervalEnd DESC;
GO

-- One row per local day (a day with no row at all does not appear: see kyzconsole gaps).
-- expected_interval_count is always 96. With a local-time key a daylight-saving day cannot
-- reach its true count: the spring-forward day has only 92 real intervals (coverage 95.83 with
-- nothing lost), and on the fall-back day the repeated hour's second readings collide with the
-- first on IntervalEnd, so at most 96 rows are stored and the 4 extra are kept as conflicts in
-- kyzconsole's quarantine, not here.
CREATE OR ALTER VIEW dbo.vw_KYZ_DailySummary AS
WITH b AS (
    SELECT
        IntervalEnd,
        kWh,
        kW,
        CAST(DATEADD(MINUTE, -15, IntervalEnd) AS DATE) AS day_start,
        CASE WHEN KyzInvalidAlarm = 1 THEN 1 ELSE 0 END AS is_invalid,
        CASE WHEN R17Exclude = 1 THEN 1 ELSE 0 END AS is_r17
    FROM dbo.KYZ_Interval
),
peak AS (
    SELECT
        day_start,
        IntervalEnd,
        ROW_NUMBER() OVER (PARTITION BY day_start ORDER BY kW DESC, IntervalEnd) AS rn
    FROM b
    WHERE is_invalid = 0
),
agg AS (
    SELECT
        day_start,
        SUM(kWh) AS kWh_sum,
        MAX(CASE WHEN is_invalid = 0 THEN kW END) AS kW_peak,
        MAX(CASE WHEN is_invalid = 0 AND is_r17 = 0 THEN kW END) AS kW_peak_excluding_r17,
        COUNT(*) AS interval_count,
        SUM(is_r17) AS r17_interval_count,
        SUM(is_invalid) AS invalid_alarm_count
    FROM b
    GROUP BY day_start
)
SELECT
    a.day_start AS [date],
    a.kWh_sum,
    a.kW_peak,
    a.kW_peak_excluding_r17,
    a.interval_count,
    p.IntervalEnd AS kW_peak_at,
    96 AS expected_interval_count,
    CAST(ROUND(100.0 * a.interval_count / 96, 2) AS DECIMAL(5, 2)) AS coverage_pct,
    a.r17_interval_count,
    a.invalid_alarm_count
FROM agg AS a
LEFT JOIN peak AS p ON p.day_start = a.day_start AND p.rn = 1;
GO

-- One row per calendar month: the billing demand estimate. peak_kW is the highest 15-minute
-- demand and top3_avg_kW the average of the three highest (fewer if the month has fewer),
-- both leaving out R17 and invalid-alarm intervals. provisional = 1 while coverage is below 98%
-- or the month's last interval (ending 00:00:00 on the 1st of the next month) has not ended.
-- Billing on a meter-read day rather than the calendar month: kyzconsole report monthly with
-- KYZ_BILLING_CYCLE_DAY.
CREATE OR ALTER VIEW dbo.vw_KYZ_MonthlyBillingDemandEstimate AS
WITH b AS (
    SELECT
        IntervalEnd,
        kWh,
        kW,
        DATEFROMPARTS(
            YEAR(DATEADD(MINUTE, -15, IntervalEnd)), MONTH(DATEADD(MINUTE, -15, IntervalEnd)), 1
        ) AS month_start,
        CASE WHEN KyzInvalidAlarm = 1 OR R17Exclude = 1 THEN 0 ELSE 1 END AS is_billable
    FROM dbo.KYZ_Interval
),
ranked AS (
    SELECT
        month_start,
        IntervalEnd,
        kW,
        ROW_NUMBER() OVER (PARTITION BY month_start ORDER BY kW DESC, IntervalEnd) AS rn
    FROM b
    WHERE is_billable = 1
),
demand AS (
    -- The sum is widened before dividing so that ROUND, not the division, sets the 6th place.
    SELECT
        month_start,
        CAST(ROUND(CAST(SUM(kW) AS DECIMAL(28, 6)) / COUNT(*), 6) AS DECIMAL(18, 6))
            AS top3_avg_kW,
        MAX(kW) AS peak_kW,
        MAX(CASE WHEN rn = 1 THEN IntervalEnd END) AS peak_at
    FROM ranked
    WHERE rn <= 3
    GROUP BY month_start
),
energy AS (
    SELECT
        month_start,
        SUM(kWh) AS kWh_sum,
        COUNT(*) AS interval_count,
        DAY(EOMONTH(month_start)) * 96 AS expected_interval_count
    FROM b
    GROUP BY month_start
)
SELECT
    e.month_start,
    d.top3_avg_kW,
    d.peak_kW,
    d.peak_at,
    e.kWh_sum,
    CAST(ROUND(100.0 * e.interval_count / e.expected_interval_count, 2) AS DECIMAL(5, 2))
        AS coverage_pct,
    CASE
        WHEN e.interval_count * 100 < e.expected_interval_count * 98 THEN 1
        WHEN CAST(DATEADD(MONTH, 1, e.month_start) AS DATETIME2(0)) > n.plant_now THEN 1
        ELSE 0
    END AS provisional
FROM energy AS e
LEFT JOIN demand AS d ON d.month_start = e.month_start
CROSS JOIN (
    SELECT CAST(SYSDATETIMEOFFSET() AT TIME ZONE N'Eastern Standard Time' AS DATETIME2(0))
        AS plant_now
) AS n;
GO
