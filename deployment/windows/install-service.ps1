#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Install the runner as a Windows service with NSSM, or re-apply its settings.

.DESCRIPTION
    The service runs `<repo>\.venv\Scripts\runner.exe run` in the repository directory.
    Run deployment\windows\setup.ps1 first.

    Semantics (lessons A2, H1, H2, H5) follow the runner's exit-code contract:
    - 0 stopped on request: not restarted (AppExit 0 Exit);
    - 2 configuration or usage error (no keys, invalid key, no enabled strategy, a
      second instance on the same state directory): not restarted (AppExit 2 Exit),
      because a restart cannot fix it; the reason is in logs\service-stderr.log;
    - 3 the loop failed repeatedly, 4 the environment is broken (state or logs
      unwritable, disk full), and any other code: restarted after 30 s
      (AppExit Default Restart, AppRestartDelay 30000). NSSM has one restart delay for
      every code; AppThrottle makes it back off further while restarts keep failing
      within 30 s of the start (as an exit 4 at start does);
    - a stop sends Ctrl+C to the console first (the runner finishes the tick, cancels
      working orders, keeps trade state, flushes) and waits up to 30 s before harder
      methods;
    - stdout/stderr are captured in logs\service-*.log and rotated by NSSM while the
      service runs; the runner rotates its own logs in process. Nothing here stops the
      service to rotate logs;
    - the service account is a dedicated user (-Credential, recommended) or
      NT AUTHORITY\LocalService, never LocalSystem.

    Running it again on an installed service only re-applies the settings; restart the
    service for them to take effect. It never deletes state\ or logs\ (A9).

.PARAMETER Credential
    A dedicated local user for the service (e.g. .\runner-svc). NSSM grants it the
    "Log on as a service" right. Without it the service runs as NT AUTHORITY\LocalService.

.PARAMETER RegisterHealthCheck
    Also register the scheduled task that runs health-check.ps1 every 5 minutes.

.EXAMPLE
    .\install-service.ps1 -Credential (Get-Credential .\runner-svc) -RegisterHealthCheck -Start
#>
[CmdletBinding()]
param(
    [string]$ServiceName = 'runner',
    [string]$RepoDir = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path,
    [string]$Nssm = 'nssm',
    [pscredential]$Credential,
    [switch]$RegisterHealthCheck,
    [int]$HealthMaxAgeSeconds = 120,
    [switch]$Start
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

function Invoke-Nssm {
    # nssm answers on stdout ("Set parameter ..."); keep it off our output
    & $Nssm @args | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "nssm $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

if (-not (Get-Command $Nssm -ErrorAction SilentlyContinue)) {
    throw "nssm not found ($Nssm): install it (e.g. choco install nssm) or pass -Nssm C:\path\nssm.exe"
}
$runnerExe = Join-Path $RepoDir '.venv\Scripts\runner.exe'
if (-not (Test-Path $runnerExe)) { throw "$runnerExe not found: run deployment\windows\setup.ps1 first" }
$logDir = Join-Path $RepoDir 'logs'
$stateDir = Join-Path $RepoDir 'state'
foreach ($dir in $logDir, $stateDir) {
    if (-not (Test-Path $dir)) { New-Item -ItemType Directory -Path $dir | Out-Null }
}

if (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) {
    Write-Host "service $ServiceName exists: re-applying its settings (restart it to apply)"
} else {
    Invoke-Nssm install $ServiceName $runnerExe run
    Write-Host "service $ServiceName installed"
}

Invoke-Nssm set $ServiceName Application $runnerExe
Invoke-Nssm set $ServiceName AppParameters run
Invoke-Nssm set $ServiceName AppDirectory $RepoDir
Invoke-Nssm set $ServiceName DisplayName 'runner (Coincall options strategies)'
Invoke-Nssm set $ServiceName Description 'Declarative options-strategy runner for Coincall. State in state\ (never delete), logs in logs\. Health: runner health.'
Invoke-Nssm set $ServiceName Start SERVICE_DELAYED_AUTO_START
Invoke-Nssm set $ServiceName AppEnvironmentExtra 'PYTHONUNBUFFERED=1' 'PYTHONIOENCODING=utf-8'

# The exit-code contract (runner/exit_codes.py; A2: restart on failure only):
# 0 stopped on request and 2 configuration error stay stopped; 3 (the loop failed) and
# 4 (environment broken) restart after the delay, as does any unexpected code.
Invoke-Nssm set $ServiceName AppExit Default Restart
Invoke-Nssm set $ServiceName AppExit 0 Exit
Invoke-Nssm set $ServiceName AppExit 2 Exit
Invoke-Nssm set $ServiceName AppExit 3 Restart
Invoke-Nssm set $ServiceName AppExit 4 Restart
# One delay for every restarted code (NSSM has no per-code delay): long enough for a full
# disk or a permission to be fixed without a tight loop of failing starts.
Invoke-Nssm set $ServiceName AppRestartDelay 30000
# A run shorter than 30 s counts as a failed start: NSSM then backs off between restarts.
Invoke-Nssm set $ServiceName AppThrottle 30000

# Clean stop: Ctrl+C first (the runner's SIGINT handler stops after the tick), 30 s to finish.
Invoke-Nssm set $ServiceName AppStopMethodSkip 0
Invoke-Nssm set $ServiceName AppStopMethodConsole 30000
Invoke-Nssm set $ServiceName AppStopMethodWindow 10000
Invoke-Nssm set $ServiceName AppStopMethodThreads 10000
Invoke-Nssm set $ServiceName AppKillProcessTree 1

# Captured stdout/stderr, rotated by NSSM while the service runs (H2: no stop to rotate).
Invoke-Nssm set $ServiceName AppStdout (Join-Path $logDir 'service-stdout.log')
Invoke-Nssm set $ServiceName AppStderr (Join-Path $logDir 'service-stderr.log')
Invoke-Nssm set $ServiceName AppStdoutCreationDisposition 4
Invoke-Nssm set $ServiceName AppStderrCreationDisposition 4
Invoke-Nssm set $ServiceName AppRotateFiles 1
Invoke-Nssm set $ServiceName AppRotateOnline 1
Invoke-Nssm set $ServiceName AppRotateBytes 10485760

# Service account: a dedicated user, or LocalService; never LocalSystem.
if ($Credential) {
    $account = $Credential.UserName
    Invoke-Nssm set $ServiceName ObjectName $account $Credential.GetNetworkCredential().Password
} else {
    $account = 'NT AUTHORITY\LocalService'
    Invoke-Nssm set $ServiceName ObjectName $account
    Write-Warning "running as $account; a dedicated user (-Credential) is recommended"
}
# The account reads the checkout and writes only logs\ and state\ (inherited by their contents).
$aclAccount = $account -replace '^\.\\', "$env:COMPUTERNAME\"
& icacls $RepoDir /grant "${aclAccount}:(OI)(CI)RX" /C /Q | Out-Null
foreach ($dir in $logDir, $stateDir) {
    & icacls $dir /grant "${aclAccount}:(OI)(CI)M" /C /Q | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "icacls could not grant $aclAccount write access to $dir" }
}
$homeLine = Select-String -Path (Join-Path $RepoDir '.venv\pyvenv.cfg') -Pattern '^home\s*=\s*(.+)$' | Select-Object -First 1
if ($homeLine -and $homeLine.Matches[0].Groups[1].Value -like "$env:SystemDrive\Users\*") {
    Write-Warning "the venv's Python lives in a user profile ($($homeLine.Line)); $account may not be able to read it. Install Python for all users and re-run setup.ps1"
}

if ($RegisterHealthCheck) {
    $script = Join-Path $PSScriptRoot 'health-check.ps1'
    $arguments = "-NoProfile -ExecutionPolicy Bypass -File `"$script`" -ServiceName $ServiceName -RepoDir `"$RepoDir`" -MaxAgeSeconds $HealthMaxAgeSeconds"
    $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $arguments
    $trigger = New-ScheduledTaskTrigger -Once -At (Get-Date).AddMinutes(1) -RepetitionInterval (New-TimeSpan -Minutes 5)
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    $settings = New-ScheduledTaskSettingsSet -MultipleInstances IgnoreNew -ExecutionTimeLimit (New-TimeSpan -Minutes 2) -StartWhenAvailable
    Register-ScheduledTask -TaskName "$ServiceName-health" -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force | Out-Null
    Write-Host "scheduled task $ServiceName-health runs health-check.ps1 every 5 minutes"
}

if ($Start) {
    Start-Service -Name $ServiceName
    Write-Host "service $ServiceName started; check it with: $runnerExe health --state-dir `"$stateDir`""
}
