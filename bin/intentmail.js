#!/usr/bin/env node
// Entry point for `npx intentmail`: the sources are TypeScript run by Node's type stripping,
// which needs Node 22.19 or newer (the project pins Node 24 as a devDependency for npm scripts).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`intentmail needs Node 22.19 or newer (this is ${process.versions.node}); run it through npm (npx intentmail, npm start), which uses the pinned Node 24.\n`);
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
