-- The database user kyzconsole's ingest service logs in with: INSERT and SELECT on
-- dbo.KYZ_Interval only. It never updates or deletes a row (rows are never overwritten) and
-- never runs DDL, so it needs nothing else. Apply by hand, connected to the plant's database
-- (not master) as its admin, after 001_create_table.sql.
--
-- Placeholders, replace before running:
--   kyz_ingest               the user name (KYZ_SQL_USERNAME)
--   <INGEST-STRONG-PASSWORD> its password (KYZ_SQL_PASSWORD)
--
-- This is a contained database user (Azure SQL's recommendation). For a managed identity
-- (KYZ_SQL_AUTHENTICATION=ActiveDirectoryMsi) use instead:
--   CREATE USER [name-of-the-identity] FROM EXTERNAL PROVIDER;
-- On SQL Server with server logins: CREATE LOGIN in master, then CREATE USER ... FOR LOGIN.
-- Check the result with: kyzconsole test-conn (it asks HAS_PERMS_BY_NAME for both rights).
CREATE USER [kyz_ingest] WITH PASSWORD = N'<INGEST-STRONG-PASSWORD>';
GO

GRANT INSERT, SELECT ON dbo.KYZ_Interval TO [kyz_ingest];
GO
