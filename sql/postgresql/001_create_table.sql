-- KYZ_Interval for PostgreSQL plants (psqlODBC). Apply by hand: psql -f 001_create_table.sql
-- Unquoted names fold to lower case (kyz_interval, intervalend, ...); kyzconsole's SQL matches.
CREATE TABLE KYZ_Interval (
    IntervalEnd      TIMESTAMP(0)  NOT NULL,
    PulseCount       INTEGER       NOT NULL,
    kWh              NUMERIC(18,6) NOT NULL,
    kW               NUMERIC(18,6) NOT NULL,
    Total_kWh        NUMERIC(18,6) NULL,
    R17Exclude       BOOLEAN       NULL,
    KyzInvalidAlarm  BOOLEAN       NULL,
    CONSTRAINT PK_KYZ_Interval PRIMARY KEY (IntervalEnd)
);
