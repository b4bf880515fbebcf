<#
.SYNOPSIS
    Registers the scheduled task that runs the kyzconsole ingest service (kyzconsole --headless).

.DESCRIPTION
    The task starts at boot, runs whether or not anyone is logged on, has no time limit, is
    restarted if it fails, and runs as a dedicated low-privilege account (never an
    administrator): a group managed service account (-GmsaAccount) or a local or domain user
    with the 'Log on as a batch job' right (-Credential). Safe to run again: an existing task of
    the same name is replaced. -WhatIf shows what would be done and changes nothing.
    Run in an elevated Windows PowerShell 5.1. See docs/DEPLOYMENT_WINDOWS_SERVER.md.

.EXAMPLE
    .\create_taskscheduler_jobs.ps1 -GmsaAccount 'PACE\svc-kyz$' -WhatIf

.EXAMPLE
    .\create_taskscheduler_jobs.ps1 -Credential (Get-Credential "$env:COMPUTERNAME\svc-kyz") -Start
#>
[CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'Gmsa')]
param(
    # A gMSA installed on this server, with the trailing $: 'PACE\svc-kyz$'.
    [Parameter(Mandatory, ParameterSetName = 'Gmsa')]
    [string] $GmsaAccount,
    # A local or domain user account and its password.
    [Parameter(Mandatory, ParameterSetName = 'User')]
    [pscredential] $Credential,
    [string] $TaskName = 'kyzconsole-ingest',
    [string] $InstallDir = 'C:\Program Files\kyzconsole',
    # The working directory: kyzconsole reads the .env file (the secrets) from here.
    [string] $DataDir = 'C:\ProgramData\kyzconsole',
    # Start the task now, after registering it.
    [switch] $Start
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Kyz = Join-Path $InstallDir '.venv\Scripts\kyzconsole.exe'
$config = Join-Path $DataDir 'kyzconsole.toml'
if (-not (Test-Path $Kyz)) { throw "$Kyz not found: run install_ingestor.ps1 first" }
if (-not (Test-Path $config)) { throw "$config not found: run install_ingestor.ps1 first" }

# What to run, and where.
$arguments = "--headless --config `"$config`""
$action = New-ScheduledTaskAction -Execute $Kyz -Argument $arguments -WorkingDirectory $DataDir

# When: at every boot.
$trigger = New-ScheduledTaskTrigger -AtStartup

# How: no time limit, restart every minute if it fails (up to 999 times), one instance only.
$settings = New-ScheduledTaskSettingsSet `
    -ExecutionTimeLimit ([TimeSpan]::Zero) `
    -RestartCount 999 `
    -RestartInterval (New-TimeSpan -Minutes 1) `
    -MultipleInstances IgnoreNew `
    -StartWhenAvailable `
    -AllowStartIfOnBatteries `
    -DontStopIfGoingOnBatteries

$description = 'kyzconsole ingest: MQTT pri/energy/kyz/interval -> spool -> Azure SQL'

# Idempotent: replace a task of the same name.
if (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue) {
    if ($PSCmdlet.ShouldProcess($TaskName, 'Unregister the existing scheduled task')) {
        Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
    }
}

if ($PSCmdlet.ShouldProcess($TaskName, "Register scheduled task running $Kyz $arguments")) {
    if ($PSCmdlet.ParameterSetName -eq 'Gmsa') {
        # LogonType Password with a gMSA: Windows fetches the password from Active Directory,
        # and the task runs whether or not a user is logged on. RunLevel Limited: not elevated.
        $principal = New-ScheduledTaskPrincipal -UserId $GmsaAccount -LogonType Password -RunLevel Limited
        Register-ScheduledTask -TaskName $TaskName -Description $description `
            -Action $action -Trigger $trigger -Settings $settings -Principal $principal | Out-Null
    } else {
        # A stored password: the task runs whether or not a user is logged on.
        Register-ScheduledTask -TaskName $TaskName -Description $description `
            -Action $action -Trigger $trigger -Settings $settings -RunLevel Limited `
            -User $Credential.UserName -Password $Credential.GetNetworkCredential().Password | Out-Null
    }
    Write-Host "Registered the scheduled task $TaskName"
}

if ($Start -and $PSCmdlet.ShouldProcess($TaskName, 'Start the scheduled task')) {
    Start-ScheduledTask -TaskName $TaskName
}
