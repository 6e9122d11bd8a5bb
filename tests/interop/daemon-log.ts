/**
 * The warnings and errors in a daemon log excerpt (DaemonProcess.logs(): `<time> <LEVEL> <message>` lines).
 * The JavaScript suites expect none: a client that silently falls back to paying leaves its trace here.
 */
export function daemonProblems(logs: string): string[] {
  return logs.split("\n").filter((line) => /^\S+\s+(WARN|ERROR|FATAL)\b/.test(line));
}
