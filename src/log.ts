// Structured logs (winston): JSON for machines, or one readable line per entry for people.
// Callers log names, digests and reasons — never a ConfigMap value.
import winston from 'winston';
import type { LogFormat, LogLevel } from './config.ts';

export function createLogger(level: LogLevel, format: LogFormat): winston.Logger {
  const text = winston.format.printf(({ level: lvl, message, timestamp, ...fields }) => {
    const rest = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
      .join(' ');
    return `${String(timestamp)} ${lvl.toUpperCase().padEnd(5)} ${String(message)}${rest ? ` ${rest}` : ''}`;
  });
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), format === 'json' ? winston.format.json() : text),
    // stderr for everything: stdout stays free for tools that pipe the operator's output.
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
