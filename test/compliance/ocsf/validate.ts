/**
 * Checks an OCSF event against the schema subset in api-activity-1.8.0.json:
 * every attribute known to its object, of its type, within its enum; every
 * required attribute present; every at_least_one constraint met. Returns the
 * problems found (none: valid).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

interface AttributeSpec {
  type: string | [string];
  required?: boolean;
  enum?: (string | number)[];
}

interface ObjectSpec {
  attributes: Record<string, AttributeSpec>;
  atLeastOne?: string[];
}

export interface OcsfSubset {
  ocsfVersion: string;
  event: string;
  objects: Record<string, ObjectSpec>;
}

export const OCSF_SUBSET = JSON.parse(readFileSync(new URL('./api-activity-1.8.0.json', import.meta.url), 'utf8')) as OcsfSubset;

export function validateOcsf(event: unknown, schema: OcsfSubset = OCSF_SUBSET): string[] {
  const problems: string[] = [];
  checkObject(event, schema.event, '', schema, problems);
  return problems;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkObject(value: unknown, name: string, at: string, schema: OcsfSubset, problems: string[]): void {
  const spec = schema.objects[name];
  if (spec === undefined) throw new Error(`no object ${name} in the schema subset`);
  if (!isPlainObject(value)) {
    problems.push(`${at || '(event)'}: expected object ${name}`);
    return;
  }
  for (const [key, attr] of Object.entries(spec.attributes)) {
    if (attr.required && !(key in value)) problems.push(`${at}${key}: required by ${name}, missing`);
  }
  for (const [key, v] of Object.entries(value)) {
    const attr = spec.attributes[key];
    if (attr === undefined) {
      problems.push(`${at}${key}: not an attribute of ${name}`);
      continue;
    }
    checkValue(v, attr, `${at}${key}`, schema, problems);
  }
  if (spec.atLeastOne && !spec.atLeastOne.some((k) => k in value)) problems.push(`${at || '(event)'}: ${name} needs one of ${spec.atLeastOne.join(', ')}`);
}

function checkValue(v: unknown, attr: AttributeSpec, at: string, schema: OcsfSubset, problems: string[]): void {
  if (v === null) {
    problems.push(`${at}: null (leave an attribute without value out)`);
    return;
  }
  if (Array.isArray(attr.type)) {
    if (!Array.isArray(v)) problems.push(`${at}: expected an array of ${attr.type[0]}`);
    else v.forEach((item, i) => checkObject(item, attr.type[0] as string, `${at}[${i}].`, schema, problems));
    return;
  }
  const type = attr.type;
  switch (type) {
    case 'integer':
      if (!Number.isInteger(v) || Math.abs(v as number) > 2 ** 31) problems.push(`${at}: expected an integer, got ${JSON.stringify(v)}`);
      break;
    case 'long':
    case 'timestamp':
      if (!Number.isSafeInteger(v)) problems.push(`${at}: expected a ${type}, got ${JSON.stringify(v)}`);
      break;
    case 'string':
      if (typeof v !== 'string') problems.push(`${at}: expected a string, got ${JSON.stringify(v)}`);
      break;
    case 'ip':
      if (typeof v !== 'string' || isIP(v) === 0) problems.push(`${at}: expected an IP address, got ${JSON.stringify(v)}`);
      break;
    default:
      checkObject(v, type, `${at}.`, schema, problems);
      return;
  }
  if (attr.enum && !attr.enum.includes(v as string | number)) problems.push(`${at}: ${JSON.stringify(v)} is not one of ${attr.enum.join(', ')}`);
}
