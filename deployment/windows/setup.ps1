<#
.SYNOPSIS
    Prepare a runner checkout on Windows: virtual environment, dependencies, .env.

.DESCRIPTION
    Idempotent; run it again after every `git pull`. It creates .venv\ with the given
    Python (3.11 or newer), installs requirements.txt (which installs the runner itself,
    so .venv\Scripts\runner.exe exists), copies .env.example to .env when .env is missing,
    creates logs\ and state\ when missing, and validates the strategy files.

    It never deletes or rewrites anything in state\ (the runner's memory: trades, order
    ledger, daily counters; lessons A9) and never deletes logs.

.PARAMETER RepoDir
    The runner checkout (default: two levels above this script).

.PARAMETER Python
    The Python 3.11+ interpreter that creates the venv. Install Python "for all users"
    (C:\Program Files\Python3xx) so the service account can read it.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File deployment\windows\setup.ps1 -Python "C:\Program Files\Python311\python.exe"
#>
[CmdletBinding()]
param(
    [string]$RepoDir = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path,
    [string]$Python = 'python'
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

function Invoke-Checked {
    param([string]$Exe, [string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

Set-Location $RepoDir
Write-Host "runner setup in $RepoDir"

& $Python -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)"
if ($LASTEXITCODE -ne 0) { throw "$Python is not Python 3.11 or newer (https://www.python.org/downloads/windows/)" }

$venvPython = Join-Path $RepoDir '.venv\Scripts\python.exe'
if (-not (Test-Path $venvPython)) {
    Write-Host 'creating .venv'
    Invoke-Checked $Python @('-m', 'venv', (Join-Path $RepoDir '.venv'))
}
Write-Host 'installing requirements.txt'
Invoke-Checked $venvPython @('-m', 'pip', 'install', '--quiet', '--upgrade', 'pip')
Invoke-Checked $venvPython @('-m', 'pip', 'install', '--quiet', '-r', 'requirements.txt')

if (-not (Test-Path '.env')) {
    Copy-Item '.env.example' '.env'
    Write-Warning '.env created from .env.example: it trades paper until you edit it (TRADING_ENVIRONMENT and keys)'
}
foreach ($dir in 'logs', 'state') {
    if (-not (Test-Path $dir)) { New-Item -ItemType Directory -Path $dir | Out-Null }
}

$runner = Join-Path $RepoDir '.venv\Scripts\runner.exe'
Write-Host 'validating strategies.d'
& $runner validate
if ($LASTEXITCODE -ne 0) { Write-Warning "runner validate reported problems (exit $LASTEXITCODE); fix them before starting the service" }
Write-Host "done. Next: edit .env if needed, then deployment\windows\install-service.ps1 (as Administrator)"
