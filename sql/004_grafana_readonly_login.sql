-- A read-only database user for Grafana: SELECT on the table and the dashboard views, nothing
-- else (no role membership, no INSERT, UPDATE, DELETE or DDL). Apply by hand, connected to the
-- plant's database (not master) as its admin, after 001 and 003.
--
-- Placeholders, replace before running:
--   kyz_grafana               the user name Grafana logs in with
--   <GRAFANA-STRONG-PASSWORD> its password (Azure SQL password policy applies)
--
-- This is a contained database user (Azure SQL's recommendation): Grafana sets the database
-- name in its data source. For a Microsoft Entra identity (a managed identity or app
-- registration) use instead:  CREATE USER [kyz_grafana] FROM EXTERNAL PROVIDER;
-- On SQL Server with server logins: CREATE LOGIN in master, then CREATE USER ... FOR LOGIN.
CREATE USER [kyz_grafana] WITH PASSWORD = N'<GRAFANA-STRONG-PASSWORD>';
GO

GRANT SELECT ON dbo.KYZ_Interval TO [kyz_grafana];
GRANT SELECT ON dbo.vw_KYZ_LatestInterval TO [kyz_grafana];
GRANT SELECT ON dbo.vw_KYZ_DailySummary TO [kyz_grafana];
GRANT SELECT ON dbo.vw_KYZ_MonthlyBillingDemandEstimate TO [kyz_grafana];
GO
