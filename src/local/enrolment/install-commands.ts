/** The one-line install commands (README "Installing a studio machine"). */
export interface InstallCommands {
  linux: string;
  macos: string;
  windows: string;
}

/** A single-quoted POSIX shell word (a quote inside becomes '\''). */
function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A single-quoted PowerShell string (a quote inside is doubled). */
function psQuote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The token travels in an environment variable, never in a URL: the service logs request URLs, and a URL ends up
 * in proxy logs and shell history of other tools. `server` is the service's public base URL without a trailing
 * slash.
 */
export function installCommands(server: string, token: string): InstallCommands {
  const unix =
    `curl -fsSL ${shQuote(`${server}/install/install.sh`)} | ` +
    `CW_ENROLMENT_TOKEN=${shQuote(token)} bash -s -- --server ${shQuote(server)}`;
  const windows =
    `$env:CW_ENROLMENT_TOKEN=${psQuote(token)}; $env:CW_SERVER=${psQuote(server)}; ` +
    `irm ${psQuote(`${server}/install/install.ps1`)} | iex`;
  return { linux: unix, macos: unix, windows };
}
