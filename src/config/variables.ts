// How a variable holding a number or a switch is read, for every config module: unset or
// blank is the default; anything else must be written plainly (decimal digits; true, false,
// 1 or 0) and lie in range, or the variable is refused by name. One reading, so "0x10",
// "1e3" or " 5" is refused alike for every variable: Number() alone takes all three.
import { configurationError } from "../errors";

/** The variables a reader looks in: the Env, or a module's own slice of it. */
type Variables<Name extends string> = { readonly [N in Name]?: unknown };

/** The two ways a number may be written: whole, or with a decimal fraction. */
const NUMBER_FORMS = {
  integer: { written: /^\d+$/, words: "an integer" },
  decimal: { written: /^\d+(\.\d+)?$/, words: "a number" },
} as const;

function readNumber(raw: unknown, name: string, form: keyof typeof NUMBER_FORMS, range: [number, number]): number {
  const [min, max] = range;
  const { written, words } = NUMBER_FORMS[form];
  const value = typeof raw === "string" && written.test(raw) ? Number(raw) : Number.NaN;
  const whole = form === "integer" ? Number.isSafeInteger(value) : Number.isFinite(value);
  if (!whole || value < min || value > max)
    throw configurationError(`${name} must be ${words} between ${min} and ${max}`);
  return value;
}

/** Variable `name` as a whole number in [min, max]; `fallback` when unset or blank. */
export function readInteger<Name extends string>(
  vars: Variables<Name>,
  name: Name,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = vars[name];
  return raw === undefined || raw === "" ? fallback : readNumber(raw, name, "integer", [min, max]);
}

/** Variable `name` as a number in [min, max], a fraction allowed (0.25); `fallback` when
 *  unset or blank. */
export function readDecimal<Name extends string>(
  vars: Variables<Name>,
  name: Name,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = vars[name];
  return raw === undefined || raw === "" ? fallback : readNumber(raw, name, "decimal", [min, max]);
}

/** Variable `name` as a switch: true or 1, false or 0; `fallback` when unset or blank. */
export function readBoolean<Name extends string>(vars: Variables<Name>, name: Name, fallback: boolean): boolean {
  const raw = vars[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw configurationError(`${name} must be true or false`);
}
