import { Duration } from 'cdk8s';
import { ValidationError } from '../errors';

/** Renders a Duration as a Go duration string (`90s`, `72h`), as Temporal's config and CLI parse them. */
export function goDuration(path: string, field: string, duration: Duration, minSeconds = 1): string {
  const seconds = duration.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < minSeconds) {
    throw new ValidationError('INVALID_DURATION', path, `${field} must be a whole number of seconds >= ${minSeconds}`,
      seconds, `use e.g. Duration.seconds(${Math.max(minSeconds, 10)}) or Duration.hours(1)`);
  }
  if (seconds % 3600 === 0) {
    return `${seconds / 3600}h`;
  }
  if (seconds % 60 === 0) {
    return `${seconds / 60}m`;
  }
  return `${seconds}s`;
}
