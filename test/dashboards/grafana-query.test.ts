import { describe, expect, it } from 'vitest';
import type { Dashboard, Variable } from './dashboard-model.js';
import { expandSql } from './grafana-query.js';
import { expandMacros, goFloat, interpolateGlobals, intervalSeconds, rfc3339Nano } from './postgres-macros.js';
import { ALL, interpolateVariables } from './template-variables.js';

// The examples of Grafana's PostgreSQL data source documentation and macro engine tests.
const range = { from: new Date('2017-04-21T05:01:17Z'), to: new Date('2017-04-21T05:06:17Z') };

describe('PostgreSQL macros (the test tool)', () => {
  it('time filter, from and to: RFC 3339 in UTC', () => {
    expect(expandMacros('WHERE $__timeFilter(time_column)', range)).toBe("WHERE time_column BETWEEN '2017-04-21T05:01:17Z' AND '2017-04-21T05:06:17Z'");
    expect(expandMacros('select $__timeFrom(), $__timeTo()', range)).toBe("select '2017-04-21T05:01:17Z', '2017-04-21T05:06:17Z'");
    expect(rfc3339Nano(new Date('2026-05-04T10:00:00.120Z'))).toBe('2026-05-04T10:00:00.12Z');
  });

  it('time groups, with and without alias and fill, and the pre-5.3 form', () => {
    expect(expandMacros("GROUP BY $__timeGroup(time_column,'5m')", range)).toBe('GROUP BY floor(extract(epoch from time_column)/300)*300');
    expect(expandMacros("$__timeGroupAlias(time_column, '5m', 0)", range)).toBe('floor(extract(epoch from time_column)/300)*300 AS "time"');
    expect(expandMacros("SELECT $__timeGroup(time_column,'5m'), value", range)).toBe('SELECT floor(extract(epoch from time_column)/300)*300 AS "time", value');
    expect(expandMacros('$__timeGroupAlias(t, 1h)', range)).toBe('floor(extract(epoch from t)/3600)*3600 AS "time"');
    expect(expandMacros('$__timeGroup(t, 500ms)', range)).toBe('floor(extract(epoch from t)/0.5)*0.5');
  });

  it('epoch forms', () => {
    expect(expandMacros('$__unixEpochFilter(time)', range)).toBe('time >= 1492750877 AND time <= 1492751177');
    expect(expandMacros("$__unixEpochGroupAlias(time, '1d')", range)).toBe('floor((time)/86400)*86400 AS "time"');
    expect(expandMacros('$__unixEpochNanoFrom()', range)).toBe('1492750877000000000');
    expect(expandMacros('$__time(t), $__timeEpoch(t)', range)).toBe('t AS "time", extract(epoch from t) as "time"');
  });

  it('refuses unknown macros and intervals', () => {
    expect(() => expandMacros('$__timeFliter(t)', range)).toThrow('unknown macro "__timeFliter"');
    expect(() => intervalSeconds('5 minutes')).toThrow('error parsing interval');
  });

  it('global substitutions and Go number formatting', () => {
    expect(interpolateGlobals('$__interval_ms $__interval $__unixEpochFrom()', range, '5m')).toBe('300000 5m 1492750877');
    expect([goFloat(300), goFloat(604_800), goFloat(2_592_000), goFloat(0.5)]).toEqual(['300', '604800', '2.592e+06', '0.5']);
  });
});

describe('template variables (the test tool)', () => {
  const v = (name: string, over: Partial<Variable>): Variable => ({ type: 'query', name, ...over });
  const variables = [
    v('multi', { multi: true, includeAll: true, allValue: "'__all'", current: { text: ['All'], value: [ALL] } }),
    v('plainAll', { multi: true, includeAll: true, current: { text: ['All'], value: [ALL] }, options: [{ text: 'All', value: ALL }, { text: 'x', value: 'x' }, { text: 'y', value: 'y' }] }),
    v('box', { type: 'textbox', current: { text: '', value: '' } }),
  ];
  const run = (text: string, selection: Record<string, string | string[]> = {}, scopedVars?: Record<string, string>): string =>
    interpolateVariables(text, { variables, selection, ...(scopedVars ? { scopedVars } : {}), builtins: { __interval: '1m' } });

  it('multi-value: quoted literals, quotes doubled; All: the custom all value as it is', () => {
    expect(run('IN ($multi)', { multi: ['a', "o'k"] })).toBe("IN ('a','o''k')");
    expect(run('IN ($multi)', { multi: ['a'] })).toBe("IN ('a')");
    expect(run('IN ($multi)', { multi: 'a' })).toBe("IN ('a')");
    expect(run('IN (${multi}) [[multi]]')).toBe("IN ('__all') '__all'");
    expect(run('IN ($plainAll)')).toBe("IN ('x','y')");
    expect(run('${multi:csv}', { multi: ['a', 'b'] })).toBe('a,b');
  });

  it('single-value text box: quotes doubled, no quotes added', () => {
    expect(run("'$box'", { box: "x' OR '1'='1" })).toBe("'x'' OR ''1''=''1'");
  });

  it('a repeated row: its value, quoted like a multi-value; macros and unknown names left for the back end', () => {
    expect(run('module IN ($multi)', {}, { multi: 'jenkins' })).toBe("module IN ('jenkins')");
    expect(run('$__timeFilter(t) $__interval $nope')).toBe('$__timeFilter(t) 1m $nope');
  });

  it('both halves together', () => {
    const d: Dashboard = { uid: 'x', title: 'x', schemaVersion: 41, panels: [], templating: { list: variables } };
    const sql = "SELECT $__timeGroupAlias(at, $__interval) FROM t WHERE $__timeFilter(at) AND ('__all' IN ($multi) OR c IN ($multi))";
    expect(expandSql(d, sql, { range, interval: '10s', selection: { multi: ['a', 'b'] } })).toBe(
      "SELECT floor(extract(epoch from at)/10)*10 AS \"time\" FROM t WHERE at BETWEEN '2017-04-21T05:01:17Z' AND '2017-04-21T05:06:17Z' AND ('__all' IN ('a','b') OR c IN ('a','b'))",
    );
  });
});
