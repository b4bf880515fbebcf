<#
.SYNOPSIS
    Installs kyzconsole into a venv on the PACE server, writes a starter config, runs test-conn.

.DESCRIPTION
    Run in an elevated Windows PowerShell 5.1 (Run as Administrator). Safe to run again:
    the venv is reused, the package upgraded, an existing config file is left alone.
    See docs/DEPLOYMENT_WINDOWS_SERVER.md.

.EXAMPLE
    .\install_ingestor.ps1 -ServiceAccount 'PACE\svc-kyz$'
    Installs kyzconsole from PyPI and gives the gMSA Modify on C:\ProgramData\kyzconsole.

.EXAMPLE
    .\install_ingestor.ps1 -WheelDir D:\kyz-wheels -ServiceAccount "$env:COMPUTERNAME\svc-kyz"
    Offline: installs from wheels built with `python -m pip wheel . -w dist` elsewhere.
#>
[CmdletBinding()]
param(
    # Python 3.11 64-bit, installed for all users.
    [string] $Python = 'C:\Program Files\Python311\python.exe',
    # Where the venv goes: administrators write here, the service account only reads.
    [string] $InstallDir = 'C:\Program Files\kyzconsole',
    # Data, logs, spool, quarantine, status file and the config file.
    [string] $DataDir = 'C:\ProgramData\kyzconsole',
    # A PyPI requirement ('kyzconsole', 'kyzconsole==0.5.0') or the path of a .whl file.
    [string] $Package = 'kyzconsole',
    # Offline servers: a folder holding kyzconsole's wheel and all its dependencies' wheels.
    [string] $WheelDir,
    # The account the scheduled task runs as; it gets Modify on $DataDir.
    [string] $ServiceAccount
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# 1. Python 3.11, 64-bit.
$version = & $Python -c "import struct, sys; print('%d.%d %d' % (sys.version_info[0], sys.version_info[1], struct.calcsize('P') * 8))"
if ($version -ne '3.11 64') {
    throw "$Python is Python $version; kyzconsole needs Python 3.11 64-bit"
}

# 2. The venv, and kyzconsole in it.
$venv = Join-Path $InstallDir '.venv'
$venvPython = Join-Path $venv 'Scripts\python.exe'
if (-not (Test-Path $venvPython)) {
    Write-Host "Creating the venv $venv"
    & $Python -m venv $venv
    if ($LASTEXITCODE -ne 0) { throw "python -m venv failed ($LASTEXITCODE)" }
}
if ($WheelDir) {
    & $venvPython -m pip install --upgrade --no-index --find-links $WheelDir $Package
} else {
    & $venvPython -m pip install --upgrade $Package
}
if ($LASTEXITCODE -ne 0) { throw "pip install failed ($LASTEXITCODE)" }
$Kyz = Join-Path $venv 'Scripts\kyzconsole.exe'
& $Kyz --version

# 3. The data dir, writable by the service account (logs, spool, quarantine, status file).
New-Item -ItemType Directory -Force -Path $DataDir, (Join-Path $DataDir 'logs') | Out-Null
if ($ServiceAccount) {
    # (OI)(CI)M: Modify on the folder, and inherited by every file and folder below it.
    & icacls.exe $DataDir /grant "${ServiceAccount}:(OI)(CI)M"
    if ($LASTEXITCODE -ne 0) { throw "icacls failed ($LASTEXITCODE)" }
}

# 4. A starter config, only if there is none. No secrets in it: see the deployment guide.
$config = Join-Path $DataDir 'kyzconsole.toml'
if (-not (Test-Path $config)) {
    $starter = @'
# kyzconsole settings. Keys are the KYZ_* names without KYZ_, in lower case.
# Passwords do not belong here: set KYZ_SQL_PASSWORD and KYZ_MQTT_PASSWORD in the .env file
# next to this one (readable only by the service account and Administrators).

# Azure SQL
sql_server = "your-server.database.windows.net"
sql_database = "your-database"
sql_username = "kyz_ingest"
sql_authentication = "SqlPassword"

# The Mosquitto broker on this server, over TLS
mqtt_host = "localhost"
mqtt_port = 8883
mqtt_tls = true
mqtt_ca_file = 'C:\ProgramData\mosquitto\certs\ca.crt'
mqtt_username = "kyz_ingest"
mqtt_topic = "pri/energy/kyz/interval"

log_level = "INFO"
'@
    # UTF-8 without a byte order mark, which is what a TOML reader expects.
    [System.IO.File]::WriteAllText($config, $starter, (New-Object System.Text.UTF8Encoding $false))
    Write-Host "Wrote the starter config ${config}: edit it, then run this script again."
}

# 5. Check SQL and MQTT from here. Exit 0 only if every check passed.
Push-Location $DataDir   # so the .env file there is read, as the scheduled task reads it
try {
    & $Kyz test-conn --config $config
    $code = $LASTEXITCODE
} finally {
    Pop-Location
}
if ($code -ne 0) {
    Write-Warning "kyzconsole test-conn failed (exit $code): fix what it says, then run it again."
}
exit $code
