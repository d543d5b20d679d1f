/**
 * The name a `wstrust` user's password budget counts (docs/adfs.md, "wstrust"). AD FS accepts
 * one account under several spellings: `CONTOSO\alice`, `contoso.com\alice`, `alice@contoso.com`,
 * `ALICE@CONTOSO.COM.`, and compares them without regard to case. Were each spelling a budget of
 * its own, every spelling would add `limits.passwordPerUser` guesses. So the budget is the account
 * name alone: the qualifier (`DOMAIN\`, `@suffix`) is dropped, whatever it is, and the rest is
 * compared in Unicode compatibility form (NFKC), lower case. Two people whose names differ only in
 * the qualifier (alice@contoso.com, FABRIKAM\alice through a forest trust) share one budget: a
 * stricter limit, never a looser one. A UPN prefix that differs from the sAMAccountName
 * (alice@contoso.com, CONTOSO\asmith) cannot be mapped without the directory: two budgets.
 */
export function wstrustAccountKey(username: string): string {
  const folded = username.normalize('NFKC').trim().toLowerCase();
  const afterDomain = folded.slice(folded.lastIndexOf('\\') + 1);
  const at = afterDomain.lastIndexOf('@');
  const account = (at >= 0 ? afterDomain.slice(0, at) : afterDomain).trim();
  return account === '' ? folded : account;
}
