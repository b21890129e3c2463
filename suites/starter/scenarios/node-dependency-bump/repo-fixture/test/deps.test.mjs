// Checks the workspace manifests against the dependency policy in README.md.
// Plain Node (node:test), no installed packages needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const read = (file) => JSON.parse(readFileSync(file, 'utf8'));
const root = read('package.json');
const packages = readdirSync('packages')
  .filter((d) => existsSync(join('packages', d, 'package.json')))
  .map((d) => ({ dir: join('packages', d), manifest: read(join('packages', d, 'package.json')) }));
const manifests = [{ dir: '.', manifest: root }, ...packages];
const SECTIONS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

/** Every declaration of `name`: [{ dir, section, spec }]. */
function declarations(name) {
  const out = [];
  for (const { dir, manifest } of manifests) {
    for (const section of SECTIONS) {
      const spec = manifest[section]?.[name];
      if (spec !== undefined) out.push({ dir, section, spec });
    }
  }
  return out;
}

/** The lowest version a simple npm range allows: `^5.5.2` → [5, 5, 2], `>=5.5 <6` → [5, 5, 0]. */
function minVersion(spec) {
  const m = /^\s*(?:\^|~|>=|=|v)?\s*(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?/.exec(spec);
  assert.ok(m, `cannot read the version range ${JSON.stringify(spec)}`);
  const part = (s) => (s === undefined || s === 'x' || s === '*' ? 0 : Number(s));
  return [Number(m[1]), part(m[2]), part(m[3])];
}

const cmp = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

test('left-pad is no longer declared anywhere', () => {
  assert.deepEqual(declarations('left-pad'), []);
});

test('the packages that used left-pad depend on @acme/left-pad 2.x', () => {
  for (const dir of ['packages/ui', 'packages/report']) {
    const spec = read(join(dir, 'package.json')).dependencies?.['@acme/left-pad'];
    assert.ok(spec, `${dir} must depend on @acme/left-pad`);
    assert.equal(minVersion(spec)[0], 2, `${dir}: @acme/left-pad ${spec} is not 2.x`);
  }
});

test('the sources require @acme/left-pad instead of left-pad', () => {
  for (const { dir } of packages) {
    const src = readFileSync(join(dir, 'src', 'index.js'), 'utf8');
    assert.doesNotMatch(src, /require\(\s*['"]left-pad['"]\s*\)/, `${dir}/src/index.js still requires left-pad`);
    assert.match(src, /require\(\s*['"]@acme\/left-pad['"]\s*\)/, `${dir}/src/index.js should require @acme/left-pad`);
  }
});

test('typescript is >=5.5 <6', () => {
  const decls = declarations('typescript');
  assert.ok(decls.length > 0, 'typescript must stay declared');
  for (const { dir, spec } of decls) {
    const v = minVersion(spec);
    assert.ok(cmp(v, [5, 5, 0]) >= 0 && v[0] < 6, `${dir}: typescript ${spec} is not >=5.5 <6`);
  }
});

test('@types/react has the same major version as react', () => {
  for (const { dir, spec } of declarations('@types/react')) {
    const react = declarations('react').find((d) => d.dir === dir) ?? declarations('react')[0];
    assert.ok(react, 'react is declared nowhere');
    assert.equal(minVersion(spec)[0], minVersion(react.spec)[0],
      `${dir}: @types/react ${spec} does not match react ${react.spec}`);
  }
});

test('moment stays pinned at 2.29.4', () => {
  const decls = declarations('moment');
  assert.deepEqual(decls.map((d) => d.spec), ['2.29.4']);
});

test('the workspaces are unchanged', () => {
  assert.deepEqual(root.workspaces, ['packages/*']);
  assert.deepEqual(packages.map((p) => p.manifest.name).sort(), ['@acme/report', '@acme/ui']);
});
