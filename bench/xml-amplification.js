// XML amplification (issue #7, finding 7): what a hostile body costs the parser at /introspect
// (an envelope of up to 128 KiB) and at the unauthenticated Discovery.svc (up to 64 KiB), with the
// pre-parse limits switched off ("before") and on ("after"), each as a ratio to a flat body of
// the same size: the same envelope padded with plain text. The worst body the limits still
// accept is built to use every limit at once (depth, namespace declarations, nodes, attributes,
// references). In-process: the HTTP layer adds the same fixed cost to every row.
import { parseEnrollmentEnvelope, SOAP_XML_LIMITS } from '../dist/src/soap/envelope.js';
import { parseDiscoverRequest } from '../dist/src/soap/discovery.js';
import { buildDiscoverRequest, buildGetPoliciesEnvelope } from '../dist/src/soap/build.js';

const OFF = { maxDepth: 1e9, maxNamespaceDeclarations: 1e9, maxNodes: 1e9, maxAttributes: 1e9, maxReferences: 1e9 };
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl';

/** Median milliseconds of one call (refusals count: the time until the XmlError). */
function cost(fn, { minMs = 300, minRuns = 7 } = {}) {
  const run = () => {
    const t = performance.now();
    try {
      fn();
    } catch {
      /* a refusal is a result too */
    }
    return performance.now() - t;
  };
  for (let i = 0; i < 3; i++) run();
  const times = [];
  const stop = performance.now() + minMs;
  while (times.length < minRuns || performance.now() < stop) times.push(run());
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

function outcome(fn) {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    return `refused (${String(err.message).replace(/^malformed: /, '')})`;
  }
}

/** `inner` placed inside the message, then plain text up to `size` bytes. */
export function padded(template, marker, size, inner = '') {
  const room = size - template.length - inner.length - 11;
  if (room < 0) throw new Error(`shape larger than ${size} bytes`);
  return template.replace(marker, `${inner}<t>${'x'.repeat(room)}</t>${marker}`);
}

const fill = (unit, room) => unit.repeat(Math.floor(room / unit.length));

/** Hostile shapes filling `room` bytes. */
function shapes(room) {
  const deepUnit = '<n></n>'.length;
  const nsUnit = (i) => `<n xmlns:p${i}="urn:p${i}">`;
  let ns = '';
  let closes = '';
  for (let i = 0; ns.length + closes.length + nsUnit(i).length + 4 < room; i++) {
    ns += nsUnit(i);
    closes += '</n>';
  }
  const depth = Math.floor(room / deepUnit);
  let attrs = '';
  for (let i = 0; attrs.length + 16 < room; i++) attrs += ` a${i}=""`;
  return {
    'deep nesting': '<n>'.repeat(depth) + '</n>'.repeat(depth),
    'a namespace per level': ns + closes,
    'flat elements': fill('<i/>', room),
    comments: fill('<!---->', room),
    attributes: `<i${attrs}/>`,
    'character references': `<t>${fill('&#65;', room - 10)}</t>`,
  };
}

/** Uses every SOAP limit at once: the dearest body the limits let through. */
export function worstAccepted(template, marker, size, baseDepth) {
  const L = SOAP_XML_LIMITS;
  const chainDepth = L.maxDepth - baseDepth;
  const own = (re) => (template.match(re) ?? []).length;
  const budget = L.maxNodes - own(/<[^/!?]/g) - 2; // the message's own elements, and the padding
  const chains = Math.floor(budget / chainDepth);
  let namespaces = L.maxNamespaceDeclarations - own(/ xmlns/g);
  let attributes = L.maxAttributes - own(/ [^ =<>]+="/g) - namespaces; // declarations are attributes too
  let references = L.maxReferences - own(/&/g) - chains; // one more per chain, in its text
  let inner = '';
  for (let c = 0; c < chains; c++) {
    let open = '';
    for (let d = 0; d < chainDepth; d++) {
      let attrs = '';
      // Declarations down the first chains: each declaring element copies the map in scope.
      if (namespaces > 0) attrs += ` xmlns:q${namespaces}="urn:q${namespaces--}"`;
      if (attributes > 0) {
        attrs += ` a="${references > 0 ? '&#65;' : 'x'}"`;
        attributes--;
        references--;
      }
      open += `<n${attrs}>`;
    }
    inner += `${open}&amp;${'</n>'.repeat(chainDepth)}`;
  }
  return padded(template, marker, size, inner);
}

function table(name, template, marker, size, parse, baseDepth) {
  const flat = padded(template, marker, size);
  const room = size - template.length - 40;
  const flatOff = cost(() => parse(flat, OFF));
  const flatOn = cost(() => parse(flat));
  const lines = [
    `${name}: ${size / 1024} KiB bodies; flat (plain-text padding): ${flatOff.toFixed(2)} ms before, ${flatOn.toFixed(2)} ms after`,
    `  shape                       before: ms   x flat     after: ms   x flat   outcome after`,
  ];
  const row = (label, xml) => {
    const off = cost(() => parse(xml, OFF));
    const on = cost(() => parse(xml));
    lines.push(
      `  ${label.padEnd(26)} ${off.toFixed(2).padStart(11)} ${(off / flatOff).toFixed(1).padStart(8)} ${on.toFixed(2).padStart(13)} ${(on / flatOn).toFixed(1).padStart(8)}   ${outcome(() => parse(xml))}`,
    );
    return on / flatOn;
  };
  for (const [label, inner] of Object.entries(shapes(room))) row(label, padded(template, marker, size, inner));
  const worstAcceptedRatio = row('worst accepted (all limits)', worstAccepted(template, marker, size, baseDepth));
  return { lines, worstAcceptedRatio };
}

export async function run() {
  const getPolicies = buildGetPoliciesEnvelope({ token: TOKEN, messageId: 'urn:uuid:bench' });
  const discover = buildDiscoverRequest({ email: 'alice@example.com', messageId: 'urn:uuid:bench', authPolicies: ['Federated'] });
  const introspect = table(
    '/introspect (GetPolicies envelope)',
    getPolicies,
    '</GetPolicies>',
    127 * 1024,
    (xml, opts) => parseEnrollmentEnvelope(xml, { maxBytes: 128 * 1024, ...opts }),
    3,
  );
  const discovery = table(
    'Discovery.svc (Discover request)',
    discover,
    '</request>',
    62 * 1024,
    (xml, opts) => parseDiscoverRequest(xml, { maxBytes: 64 * 1024, ...opts }),
    4,
  );
  return {
    name: 'xml-amplification',
    ratio: Math.max(introspect.worstAcceptedRatio, discovery.worstAcceptedRatio),
    lines: [
      ...introspect.lines,
      ...discovery.lines,
      `worst accepted body / flat body of the same size: ${introspect.worstAcceptedRatio.toFixed(1)} (/introspect), ${discovery.worstAcceptedRatio.toFixed(1)} (discovery)`,
    ],
  };
}
