/** The shared SAML assertion validator and its metadata / WS-Trust readers (docs/assertions.md). */
export { ASSERTION_ERROR_CODES, assertionError, type AssertionErrorCode } from './errors.js';
export { ALGORITHMS, locateAssertion, validateAssertion, type AssertionCheck, type ValidatedAssertion } from './validate.js';
export { CLAIM_URIS, MFA_METHOD, PASSWORD_METHODS, amrOf, identityFromAssertion, type AssertionIdentity, type ClaimNames } from './identity.js';
export { readSamlIdpMetadata, readWsFedMetadata, type SamlIdpMetadata, type WsFedMetadata } from './metadata.js';
export { WSTRUST13, buildUsernameMixedRst, classifyStsAnswer, type RstInput, type StsAnswer } from './wstrust.js';
