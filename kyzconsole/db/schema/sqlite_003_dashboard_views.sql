-- kyzconsole embedded default: the SQLite form of sql/003_dashboard_views.sql, same columns and
-- answers. kyzconsole runs this itself on its own kyz.db on every start; IF NOT EXISTS leaves
-- existing views alone and gives a kyz.db made by an earlier version the views it lacks.
-- A later change to a view must DROP it in a new script, or IF NOT EXISTS keeps the old one.
--
-- Energy rules (see sql/003_dashboard_views.sql): days and months are bucketed on the interval
-- START, IntervalEnd - 15 minutes (15 and 96 = 1440 / 15 hard-coded), so the row ending
-- 00:00:00 belongs to the day before. kWh_sum counts every interval; peaks leave out
-- KyzInvalidAlarm, billing peaks R17Exclude too; a NULL flag counts as not set; ties go to the
-- earliest interval. IntervalEnd is stored as text 'YYYY-MM-DD HH:MM:SS.SSS'. Sums and averages
-- of the REAL storage are rounded to 6 places, as DECIMAL(18,6) would hold them. The table's
-- NUMERIC affinity stores a whole kW as INTEGER: the CAST(... AS REAL) keep every row of a
-- numeric column REAL, since the ODBC driver types an expression column from its first row.
-- "Now" is this machine's local time. With a local-time key the spring-forward day has 92 real
-- intervals and the fall-back day stores at most 96: expected_interval_count is always 96.

CREATE VIEW IF NOT EXISTS vw_KYZ_LatestInterval AS
SELECT
    IntervalEnd,
    PulseCount,
    kWh,
    kW,
    Total_kWh,
    R17Exclude,
    KyzInvalidAlarm,
    age_minutes,
    CASE WHEN age_minutes > 2 * 15 THEN 1 ELSE 0 END AS is_stale
FROM (
    SELECT
        *,
        (CAST(strftime('%s', 'now', 'localtime') AS INTEGER)
            - CAST(strftime('%s', IntervalEnd) AS INTEGER)) / 60 AS age_minutes
    FROM KYZ_Interval
    ORDER BY IntervalEnd DESC
    LIMIT 1
);

CREATE VIEW IF NOT EXISTS vw_KYZ_DailySummary AS
WITH b AS (
    SELECT
        IntervalEnd,
        kWh,
        kW,
        date(IntervalEnd, '-15 minutes') AS day_start,
        CASE WHEN KyzInvalidAlarm = 1 THEN 1 ELSE 0 END AS is_invalid,
        CASE WHEN R17Exclude = 1 THEN 1 ELSE 0 END AS is_r17
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
        COUNT(*) AS interval_count,
        SUM(is_r17) AS r17_interval_count,
        SUM(is_invalid) AS invalid_alarm_count
    FROM b
    GROUP BY day_start
)
SELECT
    a.day_start AS "date",
    CAST(ROUND(a.kwh_sum, 6) AS REAL) AS kWh_sum,
    CAST(a.kw_peak AS REAL) AS kW_peak,
    CAST(a.kw_peak_ex_r17 AS REAL) AS kW_peak_excluding_r17,
    a.interval_count,
    p.IntervalEnd AS kW_peak_at,
    96 AS expected_interval_count,
    CAST(ROUND(100.0 * a.interval_count / 96, 2) AS REAL) AS coverage_pct,
    a.r17_interval_count,
    a.invalid_alarm_count
FROM agg AS a
LEFT JOIN peak AS p ON p.day_start = a.day_start AND p.rn = 1;

CREATE VIEW IF NOT EXISTS vw_KYZ_MonthlyBillingDemandEstimate AS
WITH b AS (
    SELECT
        IntervalEnd,
        kWh,
        kW,
        date(IntervalEnd, '-15 minutes', 'start of month') AS month_start,
        CASE WHEN KyzInvalidAlarm = 1 OR R17Exclude = 1 THEN 0 ELSE 1 END AS is_billable
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
        COUNT(*) AS interval_count,
        CAST(strftime('%d', month_start, '+1 month', '-1 day') AS INTEGER) * 96
            AS expected_interval_count
    FROM b
    GROUP BY month_start
)
SELECT
    e.month_start,
    CAST(d.top3_avg_kw AS REAL) AS top3_avg_kW,
    CAST(d.peak_kw AS REAL) AS peak_kW,
    d.peak_at,
    CAST(ROUND(e.kwh_sum, 6) AS REAL) AS kWh_sum,
    CAST(ROUND(100.0 * e.interval_count / e.expected_interval_count, 2) AS REAL)
        AS coverage_pct,
    CASE
        WHEN e.interval_count * 100 < e.expected_interval_count * 98 THEN 1
        WHEN datetime(e.month_start, '+1 month') > datetime('now', 'localtime') THEN 1
        ELSE 0
    END AS provisional
FROM energy AS e
LEFT JOIN demand AS d ON d.month_start = e.month_start;
