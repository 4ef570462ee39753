import { Duration } from 'cdk8s';
import { ValidationError } from './errors';

/** A Duration expression of at least `seconds`, for fix hints (`Duration.days(1)`, `Duration.hours(2)`). */
export function durationExample(seconds: number): string {
  const at = Math.max(1, Math.ceil(seconds));
  if (at % 86400 === 0) {
    return `Duration.days(${at / 86400})`;
  }
  if (at >= 3600) {
    return `Duration.hours(${Math.ceil(at / 3600)})`;
  }
  if (at >= 60) {
    return `Duration.minutes(${Math.ceil(at / 60)})`;
  }
  return `Duration.seconds(${Math.max(at, 10)})`;
}

/** Renders a Duration as a Go duration string (`90s`, `72h`), as Temporal's config and CLI parse them. */
export function goDuration(path: string, field: string, duration: Duration, minSeconds = 1): string {
  const seconds = duration.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < minSeconds) {
    throw new ValidationError('INVALID_DURATION', path, `${field} must be a whole number of seconds >= ${minSeconds}`,
      seconds, `use ${durationExample(minSeconds)} or longer, in whole seconds`);
  }
  if (seconds % 3600 === 0) {
    return `${seconds / 3600}h`;
  }
  if (seconds % 60 === 0) {
    return `${seconds / 60}m`;
  }
  return `${seconds}s`;
}
