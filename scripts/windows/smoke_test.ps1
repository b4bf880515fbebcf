<#
.SYNOPSIS
    Is the kyzconsole ingest healthy? test-conn, status, and a recent latest interval.

.DESCRIPTION
    Run on the PACE server in an elevated Windows PowerShell 5.1, after installing, after
    every upgrade, and whenever in doubt. Exits 0 when all three checks pass, 1 otherwise.
    See docs/DEPLOYMENT_WINDOWS_SERVER.md and docs/RUNBOOK.md.

.EXAMPLE
    .\smoke_test.ps1
#>
[CmdletBinding()]
param(
    [string] $InstallDir = 'C:\Program Files\kyzconsole',
    [string] $DataDir = 'C:\ProgramData\kyzconsole',
    # The latest interval may be this old: two 15-minute intervals, as Grafana's staleness rule.
    [double] $MaxAgeMinutes = 30
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Kyz = Join-Path $InstallDir '.venv\Scripts\kyzconsole.exe'
$config = Join-Path $DataDir 'kyzconsole.toml'
$failed = 0
# Run from the task's working directory, so the same .env file (the secrets) is read.
Push-Location $DataDir

# 1. SQL and MQTT can be reached and used: exit 0 only if every check passed.
& $Kyz test-conn --config $config
if ($LASTEXITCODE -ne 0) {
    Write-Warning "test-conn failed (exit $LASTEXITCODE)"
    $failed++
}

# 2. The service: exit 0 running and healthy, 1 unhealthy or stale, 3 not running.
& $Kyz status --config $config
switch ($LASTEXITCODE) {
    0 { Write-Host 'status: running and healthy' }
    1 { Write-Warning 'status: running but unhealthy or stale (see the lines above)'; $failed++ }
    3 { Write-Warning 'status: no ingest is running: Start-ScheduledTask -TaskName kyzconsole-ingest'; $failed++ }
    default { Write-Warning "status: exit $LASTEXITCODE"; $failed++ }
}

# 3. The latest interval is recent. status --json has latest_interval.age_minutes (null when
#    no interval arrived since the service started, and absent when it is not running).
$status = (& $Kyz status --json --config $config) -join "`n" | ConvertFrom-Json
$latest = $null
if ($status.PSObject.Properties['latest_interval']) { $latest = $status.latest_interval }
if ($null -eq $latest) {
    Write-Warning 'latest interval: none since the service started'
    $failed++
} elseif ($latest.age_minutes -gt $MaxAgeMinutes) {
    Write-Warning ("latest interval: {0} is {1} minutes old (more than {2})" -f $latest.intervalEnd, $latest.age_minutes, $MaxAgeMinutes)
    $failed++
} else {
    Write-Host ("latest interval: {0}, {1} minutes old" -f $latest.intervalEnd, $latest.age_minutes)
}

Pop-Location
if ($failed -gt 0) {
    Write-Warning "$failed check(s) failed: see docs/RUNBOOK.md"
    exit 1
}
Write-Host 'smoke test passed'
exit 0
