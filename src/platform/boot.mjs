// Worker bootstrap for Node 20 + tsx: register tsx's ESM hooks in this worker,
// then load the real .ts entry passed as the first argv. Never holds logic.
const entry = process.argv.splice(2, 1)[0];
const { register } = await import("tsx/esm/api");
register();
await import(entry);
