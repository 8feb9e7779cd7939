#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Stop and remove the runner's Windows service and its health-check task.

.DESCRIPTION
    The stop is the normal clean stop (Ctrl+C, the runner finishes its tick, cancels
    working orders and keeps its trade state). Open positions stay open: flattening is a
    separate, explicit decision (lessons A4).

    state\ and logs\ are left exactly as they are (A9): a later install resumes from the
    same memory. This script deletes no file.
#>
[CmdletBinding()]
param(
    [string]$ServiceName = 'runner',
    [string]$RepoDir = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path,
    [string]$Nssm = 'nssm'
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$task = Get-ScheduledTask -TaskName "$ServiceName-health" -ErrorAction SilentlyContinue
if ($task) {
    Unregister-ScheduledTask -TaskName "$ServiceName-health" -Confirm:$false
    Write-Host "scheduled task $ServiceName-health removed"
}

if (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) {
    & $Nssm stop $ServiceName | Out-Null
    & $Nssm remove $ServiceName confirm | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "nssm remove $ServiceName failed with exit code $LASTEXITCODE" }
    Write-Host "service $ServiceName removed"
} else {
    Write-Host "service $ServiceName is not installed"
}
Write-Host "kept: $(Join-Path $RepoDir 'state') (trades, orders, counters) and $(Join-Path $RepoDir 'logs')"
