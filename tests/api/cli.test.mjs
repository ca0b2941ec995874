// The orderd command line: migrate, org create/set/show, usage errors.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Sandbox, runCli, parseCliJson, makeTempDir, removeDir, UUID_ANY, pgSql } from './lib/harness.mjs';

let sb;
const T = { timeout: 60_000 };

// The default master key location is under test here: ignore any override from the environment.
before(() => { sb = new Sandbox({ env: { ORDERD_MASTER_KEY_FILE: undefined } }); });
after(async () => { await sb?.cleanup(); });

const settingsText = (org) => JSON.stringify(org.settings);

describe('migrate', () => {
  test('migrate on a fresh db, then again → exit 0 both times', T, () => {
    const r1 = sb.cli(['migrate']);
    assert.equal(r1.code, 0, r1.stderr);
    if (sb.pgDb) assert.match(pgSql(sb.pgDb, 'SELECT component FROM schema_version'), /^core$/m, 'the schema exists after migrate');
    else assert.ok(fs.existsSync(sb.dbPath), 'the sqlite file exists after migrate');
    const r2 = sb.cli(['migrate']);
    assert.equal(r2.code, 0, r2.stderr);
  });
});

describe('org create', () => {
  let org;
  before(() => {
    const r = sb.cli(['org', 'create', '--name', 'Acme Tea']);
    assert.equal(r.code, 0, r.stderr);
    org = parseCliJson(r, 'org create');
  });

  test('output shape and key prefixes', T, () => {
    assert.match(org.id, /^org_\S+$/);
    assert.match(org.uuid, UUID_ANY);
    assert.equal(org.name, 'Acme Tea');
    assert.match(org.keys.test.publishable, /^pk_test_\S+$/);
    assert.match(org.keys.test.secret, /^sk_test_\S+$/);
    assert.match(org.keys.live.publishable, /^pk_live_\S+$/);
    assert.match(org.keys.live.secret, /^sk_live_\S+$/);
    const all = [org.keys.test.publishable, org.keys.test.secret, org.keys.live.publishable, org.keys.live.secret];
    assert.equal(new Set(all).size, 4);
  });

  test('two orgs get different ids and keys', T, () => {
    const other = sb.createOrg('Acme Tea');
    assert.notEqual(other.id, org.id);
    assert.notEqual(other.uuid, org.uuid);
    assert.notEqual(other.keys.test.secret, org.keys.test.secret);
    assert.notEqual(other.keys.live.secret, org.keys.live.secret);
  });

  test('the master key file is created 0600 next to the sqlite file (PostgreSQL: ./data/master.key)', T, () => {
    const f = sb.masterKeyPath;
    assert.ok(fs.existsSync(f), `${f} exists`);
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  });

  test('ORDERD_MASTER_KEY_FILE overrides the master key location', T, () => {
    const dir = makeTempDir();
    const keyDir = makeTempDir();
    try {
      const keyFile = path.join(keyDir, 'custom.key');
      const db = sb.pgDb ? sb.db : `sqlite:${path.join(dir, 'o.db')}`;
      const r = runCli(['org', 'create', '--name', 'K', '--db', db], { cwd: dir, env: { ORDERD_MASTER_KEY_FILE: keyFile } });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(fs.existsSync(keyFile), 'the override file is created');
      assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
      const usual = sb.pgDb ? path.join(dir, 'data', 'master.key') : path.join(dir, 'master.key');
      assert.ok(!fs.existsSync(usual), `no master key at the default place ${usual}`);
    } finally {
      removeDir(dir);
      removeDir(keyDir);
    }
  });

  test('org show by id and by uuid', T, () => {
    for (const ref of [org.id, org.uuid]) {
      const r = sb.cli(['org', 'show', ref]);
      assert.equal(r.code, 0, r.stderr);
      const shown = parseCliJson(r, 'org show');
      assert.equal(shown.id, org.id);
      assert.equal(shown.uuid, org.uuid);
      assert.equal(shown.name, 'Acme Tea');
      assert.ok(shown.settings && typeof shown.settings === 'object' && !Array.isArray(shown.settings), 'settings is an object');
    }
  });

  test('org show of an unknown org → exit 1 with a message', T, () => {
    for (const ref of ['org_doesnotexist', '00000000-0000-4000-8000-000000000000']) {
      const r = sb.cli(['org', 'show', ref]);
      assert.equal(r.code, 1, `exit code for ${ref}: ${r.stderr}`);
      assert.ok(r.stderr.trim().length > 0, 'a message on stderr');
    }
  });

  describe('org set', () => {
    test('allowed_origins: good values are stored and shown', T, () => {
      const v = 'https://shop.example.com,https://*.example.org,http://localhost:3000';
      const r = sb.cli(['org', 'set', org.id, `allowed_origins=${v}`]);
      assert.equal(r.code, 0, r.stderr);
      const printed = parseCliJson(r, 'org set');
      assert.equal(printed.id, org.id);
      for (const o of ['https://shop.example.com', 'https://*.example.org', 'http://localhost:3000']) {
        assert.ok(settingsText(printed).includes(o), `org set prints ${o} in settings: ${settingsText(printed)}`);
      }
      const shown = parseCliJson(sb.cli(['org', 'show', org.id]), 'org show');
      assert.ok(settingsText(shown).includes('https://*.example.org'), settingsText(shown));
    });

    test('org set by uuid', T, () => {
      const r = sb.cli(['org', 'set', org.uuid, 'allowed_origins=https://uuid.example.com']);
      assert.equal(r.code, 0, r.stderr);
      const shown = parseCliJson(sb.cli(['org', 'show', org.id]), 'org show');
      assert.ok(settingsText(shown).includes('https://uuid.example.com'), settingsText(shown));
    });

    test('an empty value unsets allowed_origins', T, () => {
      assert.equal(sb.cli(['org', 'set', org.id, 'allowed_origins=https://x.example.com']).code, 0);
      const r = sb.cli(['org', 'set', org.id, 'allowed_origins=']);
      assert.equal(r.code, 0, r.stderr);
      const shown = parseCliJson(sb.cli(['org', 'show', org.id]), 'org show');
      assert.ok(!settingsText(shown).includes('x.example.com'), settingsText(shown));
    });

    for (const bad of ['shop.example.com', 'https://shop.example.com/path', 'https://', 'https://sh*p.example.com', 'https://shop.example.com:99999', 'not an origin']) {
      test(`allowed_origins=${bad} → exit 2 naming the key`, T, () => {
        assert.equal(sb.cli(['org', 'set', org.id, 'allowed_origins=https://keep.example.com']).code, 0);
        const r = sb.cli(['org', 'set', org.id, `allowed_origins=${bad}`]);
        assert.equal(r.code, 2, `exit code: ${r.stderr}`);
        assert.ok(r.stderr.includes('allowed_origins'), `stderr names the key: ${r.stderr}`);
        const shown = parseCliJson(sb.cli(['org', 'show', org.id]), 'org show');
        assert.ok(settingsText(shown).includes('https://keep.example.com'), 'a refused value changes nothing');
      });
    }

    test('unknown setting → exit 2 naming the key', T, () => {
      const r = sb.cli(['org', 'set', org.id, 'colour=blue']);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes('colour'), `stderr names the key: ${r.stderr}`);
    });

    test('org set of an unknown org fails', T, () => {
      const r = sb.cli(['org', 'set', 'org_doesnotexist', 'allowed_origins=https://a.example.com']);
      assert.notEqual(r.code, 0);
      assert.ok(r.stderr.trim().length > 0);
    });
  });
});

describe('usage errors → exit 2', () => {
  const cases = [
    ['no subcommand', []],
    ['unknown subcommand', ['frobnicate', '--db', 'sqlite:/nonexistent/x.db']],
    ['org create without --name', ['org', 'create', '--db', 'DB']],
    ['org show without ORG_ID', ['org', 'show', '--db', 'DB']],
    ['org set without KEY=VALUE', ['org', 'set', '--db', 'DB']],
    ['unknown org subcommand', ['org', 'explode', '--db', 'DB']],
  ];
  for (const [label, args] of cases) {
    test(label, T, () => {
      const r = runCli(args.map((a) => (a === 'DB' ? sb.db : a)), { timeout: 10_000, cwd: sb.dir });
      assert.equal(r.code, 2, `exit code (signal ${r.signal}); stderr: ${r.stderr}`);
      assert.ok(r.stderr.trim().length > 0, 'a usage message on stderr');
    });
  }
});
