-- Dashboard views for PostgreSQL plants: the same columns and answers as ../003_dashboard_views.sql.
-- Apply by hand after 001_create_table.sql, as the table's owner:  psql -f 003_dashboard_views.sql
-- kyzconsole never runs DDL here. Re-running is safe (CREATE OR REPLACE VIEW).
--
-- Energy rules (see ../003_dashboard_views.sql for the whole story):
-- * Days and months are bucketed on the interval START, IntervalEnd - 15 minutes, so the row
--   ending 00:00:00 belongs to the day before. 15 (and 96 = 1440 / 15) are hard-coded: change
--   them if KYZ_INTERVAL_MINUTES is not 15.
-- * kWh_sum counts every interval; peaks leave out KyzInvalidAlarm, billing peaks R17Exclude too;
--   a NULL flag counts as not set; ties go to the earliest interval.
-- * Column names that are not all lower case are double-quoted, so Grafana sees the same names
--   as on SQL Server (query them quoted: SELECT "kWh_sum" ...). Flags come out as 0/1 integers,
--   as BIT does on SQL Server.
-- * "Now" is LOCALTIMESTAMP, in the session's TimeZone: set the plant's zone for the Grafana
--   login if the server runs on UTC (ALTER ROLE kyz_grafana SET timezone = 'America/Chicago').

CREATE OR REPLACE VIEW vw_KYZ_LatestInterval AS
SELECT
    i.IntervalEnd AS "IntervalEnd",
    i.PulseCount AS "PulseCount",
    i.kWh AS "kWh",
    i.kW AS "kW",
    i.Total_kWh AS "Total_kWh",
    i.R17Exclude::integer AS "R17Exclude",
    i.KyzInvalidAlarm::integer AS "KyzInvalidAlarm",
    a.age_minutes,
    CASE WHEN a.age_minutes > 2 * 15 THEN 1 ELSE 0 END AS is_stale
FROM KYZ_Interval AS i
CROSS JOIN LATERAL (
    SELECT FLOOR(EXTRACT(EPOCH FROM (LOCALTIMESTAMP(0) - i.IntervalEnd)) / 60)::integer
        AS age_minutes
) AS a
ORDER BY i.IntervalEnd DESC
LIMIT 1;

-- expected_interval_count is always 96: with a local-time key the spring-forward day has 92
-- real intervals and the fall-back day stores at most 96 (the repeated hour's second readings
-- are conflicts, kept in kyzconsole's quarantine).
CREATE OR REPLACE VIEW vw_KYZ_DailySummary AS
WITH b AS (
    SELECT
        IntervalEnd,
        kWh,
        kW,
        CAST(IntervalEnd - INTERVAL '15 minutes' AS date) AS day_start,
        CASE WHEN KyzInvalidAlarm THEN 1 ELSE 0 END AS is_invalid,
        CASE WHEN R17Exclude THEN 1 ELSE 0 END AS is_r17
    FROM KYZ_Interval
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
        SUM(kWh) AS kwh_sum,
        MAX(CASE WHEN is_invalid = 0 THEN kW END) AS kw_peak,
        MAX(CASE WHEN is_invalid = 0 AND is_r17 = 0 THEN kW END) AS kw_peak_ex_r17,
        COUNT(*)::integer AS interval_count,
        SUM(is_r17)::integer AS r17_interval_count,
        SUM(is_invalid)::integer AS invalid_alarm_count
    FROM b
    GROUP BY day_start
)
SELECT
    a.day_start AS "date",
    a.kwh_sum AS "kWh_sum",
    a.kw_peak AS "kW_peak",
    a.kw_peak_ex_r17 AS "kW_peak_excluding_r17",
    a.interval_count,
    p.IntervalEnd AS "kW_peak_at",
    96 AS expected_interval_count,
    ROUND(100.0 * a.interval_count / 96, 2) AS coverage_pct,
    a.r17_interval_count,
    a.invalid_alarm_count
FROM agg AS a
LEFT JOIN peak AS p ON p.day_start = a.day_start AND p.rn = 1;

-- One row per calendar month; provisional = 1 while coverage is below 98% or the month's last
-- interval (ending 00:00:00 on the 1st of the next month) has not ended.
CREATE OR REPLACE VIEW vw_KYZ_MonthlyBillingDemandEstimate AS
WITH b AS (
    SELECT
        IntervalEnd,
        kWh,
        kW,
        CAST(date_trunc('month', IntervalEnd - INTERVAL '15 minutes') AS date) AS month_start,
        CASE WHEN KyzInvalidAlarm OR R17Exclude THEN 0 ELSE 1 END AS is_billable
    FROM KYZ_Interval
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
    SELECT
        month_start,
        ROUND(AVG(kW), 6) AS top3_avg_kw,
        MAX(kW) AS peak_kw,
        MAX(CASE WHEN rn = 1 THEN IntervalEnd END) AS peak_at
    FROM ranked
    WHERE rn <= 3
    GROUP BY month_start
),
energy AS (
    SELECT
        month_start,
        SUM(kWh) AS kwh_sum,
        COUNT(*)::integer AS interval_count,
        EXTRACT(DAY FROM month_start + INTERVAL '1 month' - INTERVAL '1 day')::integer * 96
            AS expected_interval_count
    FROM b
    GROUP BY month_start
)
SELECT
    e.month_start,
    d.top3_avg_kw AS "top3_avg_kW",
    d.peak_kw AS "peak_kW",
    d.peak_at,
    e.kwh_sum AS "kWh_sum",
    ROUND(100.0 * e.interval_count / e.expected_interval_count, 2) AS coverage_pct,
    CASE
        WHEN e.interval_count * 100 < e.expected_interval_count * 98 THEN 1
        WHEN e.month_start + INTERVAL '1 month' > LOCALTIMESTAMP(0) THEN 1
        ELSE 0
    END AS provisional
FROM energy AS e
LEFT JOIN demand AS d ON d.month_start = e.month_start;
