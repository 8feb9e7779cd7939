<#
.SYNOPSIS
    Liveness check for the runner service (Task Scheduler, every 5 minutes, as SYSTEM).

.DESCRIPTION
    Asks `runner health` whether the heartbeat the service loop writes every tick is
    fresh (lessons H1: liveness is the heartbeat, never the age of a log file).
    - fresh: nothing to do, nothing written;
    - stale AND the service reports Running: the process is hung, so the service is
      restarted through the service manager (a clean stop, then a start);
    - the service is not Running: it was stopped on purpose or NSSM is between restarts;
      nothing is started here;
    - `runner health` itself failed (exit code other than 0 or 1): reported, no restart.
    Actions and problems are appended to logs\health-check.log. Output goes to the host
    (information stream), never to stdout (H3).
#>
[CmdletBinding()]
param(
    [string]$ServiceName = 'runner',
    [string]$RepoDir = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path,
    [int]$MaxAgeSeconds = 120
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$runnerExe = Join-Path $RepoDir '.venv\Scripts\runner.exe'
$checkLog = Join-Path $RepoDir 'logs\health-check.log'

function Write-CheckLog([string]$Line) {
    $stamp = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    Add-Content -Path $checkLog -Value "$stamp $Line" -Encoding UTF8
    Write-Host $Line
}

$service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if (-not $service) {
    Write-CheckLog "service $ServiceName is not installed"
    exit 2
}

if (-not (Test-Path $runnerExe)) {
    Write-CheckLog "$runnerExe not found; run deployment\windows\setup.ps1"
    exit 2
}
# From the checkout, `runner health` finds the state directory exactly as the service does
# (RUNNER_STATE_DIR from the environment or .env, else state\).
Set-Location $RepoDir
# Windows PowerShell turns a native command's stderr into errors under 'Stop'.
$ErrorActionPreference = 'Continue'
$verdict = (& $runnerExe health --max-age $MaxAgeSeconds 2>&1 | Out-String).Trim()
$code = $LASTEXITCODE
$ErrorActionPreference = 'Stop'
if ($code -eq 0) { exit 0 }
if ($code -ne 1) {
    Write-CheckLog "runner health could not judge (exit $code): $verdict"
    exit $code
}
if ($service.Status -ne 'Running') {
    Write-CheckLog "service $ServiceName is $($service.Status); not touching it. $verdict"
    exit 1
}
Write-CheckLog "service $ServiceName is Running with a stale heartbeat: restarting it. $verdict"
Restart-Service -Name $ServiceName -Force
exit 1
