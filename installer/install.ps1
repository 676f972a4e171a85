# ComfyUI Cloud Workers: bootstrap for Windows (issue 12). Minimal on purpose: find Python >= 3.9, download the
# installer core (<server>/install/cw-installer.pyz), run it. Used as:
#   $env:CW_SERVER='<SERVER>'; $env:CW_ENROLMENT_TOKEN='<TOKEN>'; irm '<SERVER>/install/install.ps1' | iex
# The token stays in $env:CW_ENROLMENT_TOKEN (inherited by the core); it is never printed or put on a command line.
# Extra core options can be given in $env:CW_INSTALL_ARGS, e.g. '--port 8189 --name studio-3'.
$ErrorActionPreference = 'Stop'

$server = $env:CW_SERVER
if (-not $server) { Write-Error 'Set $env:CW_SERVER to the control plane URL first.'; return }
$server = $server.TrimEnd('/')

$python = $null
foreach ($candidate in @(@('py', '-3'), @('python'), @('python3'))) {
    $exe = $candidate[0]
    if (Get-Command $exe -ErrorAction SilentlyContinue) {
        $pre = @($candidate | Select-Object -Skip 1)
        & $exe @pre -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>$null
        if ($LASTEXITCODE -eq 0) { $python = $candidate; break }
    }
}
if (-not $python) {
    Write-Error ('Python 3.9 or newer is required (3.10+ recommended). Install it with: ' +
        'winget install -e --id Python.Python.3.12   (or from https://www.python.org/downloads/windows/, ' +
        'ticking "Add python.exe to PATH"), then run this command again.')
    return
}

$tmp = Join-Path ([System.IO.Path]::GetTempPath()) ('cw-installer-' + [guid]::NewGuid().ToString() + '.pyz')
try {
    $tls12 = [Net.SecurityProtocolType]::Tls12
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor $tls12
    Invoke-WebRequest -UseBasicParsing -Uri "$server/install/cw-installer.pyz" -OutFile $tmp
    $extra = @()
    if ($env:CW_INSTALL_ARGS) { $extra = $env:CW_INSTALL_ARGS -split '\s+' | Where-Object { $_ } }
    $exe = $python[0]
    $pre = @($python | Select-Object -Skip 1)
    & $exe @pre $tmp install --server $server @extra
    if ($LASTEXITCODE -ne 0) { Write-Error "cw-installer exited with $LASTEXITCODE" }
} finally {
    Remove-Item -Force -ErrorAction SilentlyContinue $tmp
}
