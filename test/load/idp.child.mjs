// The load suite's test IdP (idp.mjs) in a process of its own (test/load/harness.ts,
// startRig({ idpChild })), so that hundreds of clients in the harness process do not starve it
// (a starved IdP answers its token endpoint late and the figures measure it, not Fedbridge).
// Argument: JSON { port, clients, users }. Prints "listening" on stdout when ready; SIGTERM closes it.
import { startTestIdp } from './idp.mjs';

const server = await startTestIdp(JSON.parse(process.argv[2]));
process.stdout.write('listening\n');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
