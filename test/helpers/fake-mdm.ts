/**
 * A minimal MDM enrollment server for tests: Policy.svc and Enrollment.svc that check the
 * device's token with fedbridge/verify (remote JWKS, SQLite replay store) and answer 200
 * with a stub SOAP response, or the library's SOAP fault.
 */
import { createServer, type Server } from 'node:http';
import { SqliteStore } from '../../src/store/sqlite.js';
import { verifyEnrollmentRequest, type VerifyOptions, type VerifyResult } from '../../src/verify/index.js';
import { SOAP_CONTENT_TYPE, NS_ADDRESSING, NS_SOAP12 } from '../../src/soap/constants.js';
import { freePort } from './service.js';

export interface FakeMdm {
  url: string;
  port: number;
  /** Set once the Fedbridge service is up (its URL is the issuer). */
  options: Partial<VerifyOptions>;
  results: VerifyResult[];
  close(): Promise<void>;
}

const stub = (relatesTo: string | null) =>
  `<s:Envelope xmlns:s="${NS_SOAP12}" xmlns:a="${NS_ADDRESSING}"><s:Header>` +
  (relatesTo ? `<a:RelatesTo>${relatesTo.replace(/[<&]/g, '')}</a:RelatesTo>` : '') +
  '</s:Header><s:Body><Stub/></s:Body></s:Envelope>';

export async function startFakeMdm(): Promise<FakeMdm> {
  const port = await freePort();
  const store = await SqliteStore.open(':memory:');
  const mdm: FakeMdm = { url: `http://127.0.0.1:${port}`, port, options: {}, results: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const r = await verifyEnrollmentRequest(Buffer.concat(chunks).toString('utf8'), { issuer: '', store, ...mdm.options });
        mdm.results.push(r);
        const body = r.ok ? stub(r.messageId) : r.fault();
        res.writeHead(r.ok ? 200 : 500, { 'content-type': SOAP_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      })();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  mdm.close = async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
  };
  return mdm;
}
