/** A promise and the function that settles it: holds a job until the test opens it. */
export function gate(): { done: Promise<void>; open: () => void } {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  return { done, open };
}

/** One turn of the event loop (setImmediate): lets queued jobs start. */
export const tick = (): Promise<unknown> => new Promise((r) => setImmediate(r));
