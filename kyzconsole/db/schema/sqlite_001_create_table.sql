-- kyzconsole embedded default: the SQLite form of sql/001_create_table.sql.
-- kyzconsole runs this itself, once, on its own kyz.db file; it never runs DDL elsewhere.
-- SQLite keeps DECIMAL values as REAL: 15 significant digits, ample for meter readings.
CREATE TABLE IF NOT EXISTS KYZ_Interval (
    IntervalEnd      DATETIME      NOT NULL,
    PulseCount       INTEGER       NOT NULL,
    kWh              DECIMAL(18,6) NOT NULL,
    kW               DECIMAL(18,6) NOT NULL,
    Total_kWh        DECIMAL(18,6) NULL,
    R17Exclude       BIT           NULL,
    KyzInvalidAlarm  BIT           NULL,
    CONSTRAINT PK_KYZ_Interval PRIMARY KEY (IntervalEnd)
);
